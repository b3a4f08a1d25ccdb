{#
    Fail on every combination of `columns` in the model that has no matching
    row in `to`. Both sides are made distinct before the join. dbt-core 1.11's
    built-in relationships test joins all rows, which on a low-cardinality
    column such as city is close to a cross join: agg_incidents_h3_weekly.city
    to fct_incidents.city took 11 minutes on the real silver tables.
#}
{% test relationships_on_columns(model, to, columns) %}

with

child as (

    select distinct {{ columns | join(', ') }}
    from {{ model }}

),

parent as (

    select distinct {{ columns | join(', ') }}
    from {{ to }}

),

final as (

    select child.*

    from child

    left join parent
        on
        {% for column in columns -%}
            child.{{ column }} = parent.{{ column }}
            {{ "and" if not loop.last }}
        {% endfor %}

    where parent.{{ columns[0] }} is null

)

select * from final

{% endtest %}
