{#
    Return the Monday that starts the week of a date expression. DuckDB and
    PostgreSQL both truncate to ISO weeks, which run Monday to Sunday.
#}
{% macro week_start(date_expression) -%}
    cast(date_trunc('week', {{ date_expression }}) as date)
{%- endmacro %}
