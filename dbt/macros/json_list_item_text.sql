{#
    Return the text of `key` in item `index` (0-based) of a JSON list stored
    as text, or null when the list is shorter. DuckDB and PostgreSQL spell
    JSON access differently, so the SQL is dispatched per adapter.
#}
{% macro json_list_item_text(json_expression, index, key) -%}
    {{ return(adapter.dispatch('json_list_item_text', 'boljam')(
        json_expression, index, key
    )) }}
{%- endmacro %}

{% macro default__json_list_item_text(json_expression, index, key) -%}
    json_extract_string({{ json_expression }}, '$[{{ index }}].{{ key }}')
{%- endmacro %}

{% macro postgres__json_list_item_text(json_expression, index, key) -%}
    (cast({{ json_expression }} as json) -> {{ index }} ->> '{{ key }}')
{%- endmacro %}
