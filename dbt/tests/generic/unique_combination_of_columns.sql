{#
    Fail on every combination of the given columns that occurs more than once.
    A local stand-in for dbt_utils.unique_combination_of_columns, because
    dbt packages cannot be downloaded on the build machines.
#}
{% test unique_combination_of_columns(model, combination_of_columns) %}

with

grouped as (

    select
        {% for column in combination_of_columns -%}
            {{ column }},
        {% endfor -%}
        count(*) as row_count

    from {{ model }}

    group by
        {% for column in combination_of_columns -%}
            {{ column }}{{ "," if not loop.last }}
        {% endfor %}

),

final as (

    select * from grouped
    where row_count > 1

)

select * from final

{% endtest %}
