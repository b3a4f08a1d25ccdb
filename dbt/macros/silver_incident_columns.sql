{#
    Emit the select list of the columns that every silver incident table
    shares (SILVER_INCIDENT_COMMON in jobs/schemas.py), with the load metadata
    renamed without its leading underscore. Staging models put their
    source-specific columns after it.
#}
{% macro silver_incident_columns() -%}
    incident_id,
        source,
        city,
        occurred_at_utc,
        occurred_at_local,
        local_date,
        timezone,
        time_precision,
        offense,
        category,
        lat,
        lon,
        h3_r7,
        h3_r8,
        h3_r9,
        quality_flags,
        _batch_id as batch_id,
        _loaded_at as loaded_at,
        _row_hash as row_hash
{%- endmacro %}
