"""Local fakes of external third parties (never of our own PostgreSQL or
Temporal), served over real HTTP on loopback."""
