{#
    Fail on every parent area whose children together count more than the
    parent itself in `count_column`. An incident lies in at most one child, so
    the children's sum can fall short of the parent, when incidents lie
    outside every child outline, but never exceed it.
#}
{% test children_within_parent_counts(model, count_column) %}

with

children as (

    select
        parent_area_key,
        sum({{ count_column }}) as child_total

    from {{ model }}

    where parent_area_key is not null

    group by parent_area_key

),

final as (

    select
        parents.area_key,
        parents.{{ count_column }} as parent_total,
        children.child_total

    from children

    inner join {{ model }} as parents
        on children.parent_area_key = parents.area_key

    where children.child_total > parents.{{ count_column }}

)

select * from final

{% endtest %}
