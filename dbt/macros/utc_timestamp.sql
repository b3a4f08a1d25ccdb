{#
    Return a timestamp with time zone as UTC wall-clock time without a zone,
    so that casting it to date gives the UTC date whatever the session's time
    zone is. timezone(zone, timestamptz) does this in DuckDB and PostgreSQL.
#}
{% macro utc_timestamp(timestamp_expression) -%}
    timezone('UTC', {{ timestamp_expression }})
{%- endmacro %}
