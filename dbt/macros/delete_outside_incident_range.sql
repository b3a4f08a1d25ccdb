{#
    Post-hooks of the incremental panels. delete+insert only replaces the rows
    a run selects, so rows that a late update took out of the panel are deleted
    here: weeks or days outside a city's new range, and cells or categories that
    no incident of the city has any more. Cities are never removed, because
    fct_incidents keeps every incident it has seen.
#}
{% macro delete_weeks_outside_range() %}
    delete from {{ this }} as built
    using (
        select
            city,
            cast(
                {{ week_start("min(local_date) - interval '1 day'") }}
                + interval '7 days' as date
            ) as first_week_start,
            cast(
                {{ week_start("max(local_date) + interval '1 day'") }}
                - interval '7 days' as date
            ) as last_week_start
        from {{ ref('fct_incidents') }}
        group by city
    ) as bounds
    where
        built.city = bounds.city
        and (
            built.week_start < bounds.first_week_start
            or built.week_start > bounds.last_week_start
            or (built.city, built.h3_r8) not in (
                select distinct city, h3_r8 from {{ ref('fct_incidents') }}
            )
            or (built.city, built.category) not in (
                select distinct city, category from {{ ref('fct_incidents') }}
            )
        )
{% endmacro %}

{% macro delete_days_outside_range() %}
    delete from {{ this }} as built
    using (
        select
            city,
            min(local_date) as first_date,
            max(local_date) as last_date
        from {{ ref('fct_incidents') }}
        group by city
    ) as bounds
    where
        built.city = bounds.city
        and (
            built.local_date < bounds.first_date
            or built.local_date > bounds.last_date
            or (built.city, built.category) not in (
                select distinct city, category from {{ ref('fct_incidents') }}
            )
        )
{% endmacro %}
