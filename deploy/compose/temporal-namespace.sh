#!/bin/sh
# Kanalvakt's Temporal namespace, created once with its retention (how long a
# closed case's history stays in Temporal; the record is Kanalvakt's event
# store). Run with temporalio/admin-tools' `temporal` CLI (deploy/compose.yaml);
# when the namespace exists, its retention is left as it is.
set -eu
: "${TEMPORAL_ADDRESS:?}" "${NAMESPACE:?}" "${RETENTION:?}"
attempt=1
until temporal operator cluster health --address "$TEMPORAL_ADDRESS" >/dev/null 2>&1; do
    if [ "$attempt" -ge 30 ]; then
        echo "Temporal at $TEMPORAL_ADDRESS did not become healthy" >&2
        exit 1
    fi
    echo "waiting for Temporal at $TEMPORAL_ADDRESS (attempt $attempt/30)"
    attempt=$((attempt + 1))
    sleep 3
done
if temporal operator namespace describe --address "$TEMPORAL_ADDRESS" \
        --namespace "$NAMESPACE" >/dev/null 2>&1; then
    echo "namespace $NAMESPACE: in place"
else
    temporal operator namespace create --address "$TEMPORAL_ADDRESS" \
        --namespace "$NAMESPACE" --retention "$RETENTION"
    echo "namespace $NAMESPACE: created (retention $RETENTION)"
fi
