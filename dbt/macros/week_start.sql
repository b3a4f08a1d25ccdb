{#
    Return the Monday that starts the week of a date expression. DuckDB and
    PostgreSQL both truncate to ISO weeks, which run Monday to Sunday. The
    cast to timestamp keeps PostgreSQL from truncating a timestamptz in the
    session's time zone.
#}
{% macro week_start(date_expression) -%}
    cast(date_trunc('week', cast({{ date_expression }} as timestamp)) as date)
{%- endmacro %}
