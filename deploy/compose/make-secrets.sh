#!/bin/sh
# The secrets of deploy/compose.yaml, one file each, made once:
#
#   sh deploy/compose/make-secrets.sh [FOLDER]     (default: deploy/compose/secrets)
#
# A file that exists is kept, so running this again changes nothing; delete
# one to make it anew (but see deploy/README.md, "Key rotation", before
# touching KANALVAKT_PAYLOAD_KEYS or a database password). Random values come
# from /dev/urandom. Files left empty are settings you fill in when you use
# them: KANALVAKT_OIDC_CLIENT_SECRET (from your OpenID Connect provider),
# META_APP_SECRET and META_PAGE_TOKENS (from Meta's App Dashboard),
# KANALVAKT_SMTP_PASSWORD (a relay that wants a login), AWS_SECRET_ACCESS_KEY
# (archive delivery to S3).
#
# The folder is for its owner only; the files in it are readable by all,
# because the containers' users (postgres, temporal, kanalvakt) read them
# through bind mounts.
set -eu
folder="${1:-$(dirname "$0")/secrets}"
umask 077
mkdir -p "$folder"
chmod 700 "$folder"

hex() {
    od -An -N"$1" -tx1 /dev/urandom | tr -d ' \n'
}

put() {
    name="$1"
    value="$2"
    if [ -e "$folder/$name" ]; then
        echo "kept    $folder/$name"
    else
        printf '%s' "$value" > "$folder/$name"
        chmod 644 "$folder/$name"
        echo "created $folder/$name"
    fi
}

put postgres_password "$(hex 24)"
put temporal_db_password "$(hex 24)"
put kanalvakt_db_password "$(hex 24)"
put DATABASE_URL "postgresql://kanalvakt:$(cat "$folder/kanalvakt_db_password")@postgres:5432/kanalvakt"
put KANALVAKT_PAYLOAD_KEYS "k$(date -u +%Y%m%d):$(head -c 32 /dev/urandom | base64 | tr -d '\n')"
put KANALVAKT_SESSION_SECRET "$(hex 32)"
put META_VERIFY_TOKEN "$(hex 16)"
for empty in KANALVAKT_OIDC_CLIENT_SECRET META_APP_SECRET META_PAGE_TOKENS \
             KANALVAKT_SMTP_PASSWORD AWS_SECRET_ACCESS_KEY AWS_SESSION_TOKEN; do
    put "$empty" ""
done
