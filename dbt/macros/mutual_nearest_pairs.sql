{#
    Select the rows of a candidate-pair relation in which each side is the
    other's nearest: the row ranks first by distance among the rows of its
    left key and among the rows of its right key. Ties go to the smaller key.
    The result has the relation's columns plus left_rank and right_rank
    (both 1), and each left and each right key appears at most once.
#}
{% macro mutual_nearest_pairs(relation, left_key, right_key, distance) -%}
    select *
    from (
        select
            *,
            row_number() over (
                partition by {{ left_key }}
                order by {{ distance }}, {{ right_key }}
            ) as left_rank,
            row_number() over (
                partition by {{ right_key }}
                order by {{ distance }}, {{ left_key }}
            ) as right_rank
        from {{ relation }}
    ) as ranked
    where left_rank = 1 and right_rank = 1
{%- endmacro %}
