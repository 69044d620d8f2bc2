#!/bin/sh
# Run by the postgres image once, on an empty data folder
# (/docker-entrypoint-initdb.d; deploy/compose.yaml): Temporal's role and its
# two databases (temporal-schema.sh fills them), and Kanalvakt's role and
# database (`kanalvakt migrate` fills it). Neither role is a superuser.
#
# The image sources this file (it is mounted read-only, not executable), so
# it sets no shell options and never exits.
# (KV_INIT_SECRETS: another folder of those files, for the test that runs
# this script against a real PostgreSQL.)
kv_secrets="${KV_INIT_SECRETS:-/run/secrets}"
temporal_password="$(cat "$kv_secrets/temporal_db_password")"
kanalvakt_password="$(cat "$kv_secrets/kanalvakt_db_password")"
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname postgres \
    -v temporal_password="$temporal_password" \
    -v kanalvakt_password="$kanalvakt_password" <<'SQL'
CREATE ROLE temporal LOGIN PASSWORD :'temporal_password';
CREATE DATABASE temporal OWNER temporal;
CREATE DATABASE temporal_visibility OWNER temporal;
CREATE ROLE kanalvakt LOGIN PASSWORD :'kanalvakt_password';
CREATE DATABASE kanalvakt OWNER kanalvakt;
SQL
unset kv_secrets temporal_password kanalvakt_password
