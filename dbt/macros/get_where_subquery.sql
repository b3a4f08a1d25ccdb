{#
    Override of dbt's get_where_subquery (dbt-core 1.11) that replaces
    __this__ in a data test's where config with the tested relation, so that
    a where condition can compare a row with the whole table, for example
    with the newest dbt_updated_at. Without __this__ it behaves like dbt's.
#}
{% macro get_where_subquery(relation) -%}
    {% set where = config.get('where', '') %}
    {% if where %}
        {%- set where = where | replace('__this__', relation | string) -%}
        {%- set filtered -%}
            (select * from {{ relation }} where {{ where }}) dbt_subquery
        {%- endset -%}
        {% do return(filtered) %}
    {%- else -%}
        {% do return(relation) %}
    {%- endif -%}
{%- endmacro %}
