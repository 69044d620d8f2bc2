#!/bin/sh
# Temporal's schema in its two PostgreSQL databases, with Temporal's own
# tool (temporalio/admin-tools; deploy/compose.yaml). The databases exist
# (postgres-init.sh); `setup-schema -v 0.0` then `update-schema` brings a new
# or an older schema to the admin-tools' version, as the official Helm
# chart's schema job does on every install and upgrade, so this runs again
# harmlessly.
set -eu
SQL_PASSWORD="$(cat /run/secrets/temporal_db_password)"
export SQL_PASSWORD
schemas=/etc/temporal/schema/postgresql/v12
for attempt in 1 2 3 4 5 6 7 8 9 10; do
    if nc -z -w 5 "$POSTGRES_SEEDS" "${DB_PORT:-5432}"; then
        break
    fi
    echo "waiting for PostgreSQL at $POSTGRES_SEEDS:${DB_PORT:-5432} (attempt $attempt/10)"
    sleep 3
done
for pair in temporal:temporal temporal_visibility:visibility; do
    database="${pair%%:*}"
    schema="${pair##*:}"
    echo "Temporal schema: $database"
    temporal-sql-tool --plugin postgres12 --ep "$POSTGRES_SEEDS" -p "${DB_PORT:-5432}" \
        -u "$POSTGRES_USER" --db "$database" setup-schema -v 0.0
    temporal-sql-tool --plugin postgres12 --ep "$POSTGRES_SEEDS" -p "${DB_PORT:-5432}" \
        -u "$POSTGRES_USER" --db "$database" update-schema -d "$schemas/$schema/versioned"
done
echo "Temporal schema: up to date"
