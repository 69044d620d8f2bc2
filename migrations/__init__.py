"""The SQL migrations, applied in filename order by `kanalvakt migrate`
(store/db.py). A package only so that they are installed with
Kanalvakt: `pip install .` puts them beside the code."""
