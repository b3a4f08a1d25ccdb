{#
    Use a model's custom schema as given (staging, intermediate, marts) instead of
    dbt's default "<target schema>_<custom schema>", so that analysts query
    marts.fct_incidents on every target.
#}
{% macro generate_schema_name(custom_schema_name, node) -%}
    {%- if custom_schema_name is none -%}
        {{ target.schema }}
    {%- else -%}
        {{ custom_schema_name | trim }}
    {%- endif -%}
{%- endmacro %}
