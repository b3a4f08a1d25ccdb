with

incidents as (

    select * from {{ ref('fct_incidents') }}

),

city_dates as (

    select
        city,
        min(local_date) as first_date,
        max(local_date) as last_date

    from incidents

    group by city

),

-- A week is complete when the city's data covers all of it, Monday to
-- Sunday: the first complete week starts on the first Monday on or after
-- first_date, and the last one ends on the last Sunday on or before last_date.
complete_weeks as (

    select
        city,
        cast(
            {{ week_start("first_date - interval '1 day'") }}
            + interval '7 days' as date
        ) as first_week_start,
        cast(
            {{ week_start("last_date + interval '1 day'") }}
            - interval '7 days' as date
        ) as last_week_start

    from city_dates

),

weeks as (

    select
        complete_weeks.city,
        cast(series.week_start as date) as week_start

    from complete_weeks,
        generate_series(
            cast(complete_weeks.first_week_start as timestamp),
            cast(complete_weeks.last_week_start as timestamp),
            interval '7 days'
        ) as series (week_start)

),

study_cells as (

    select distinct
        city,
        h3_r8

    from incidents

),

city_categories as (

    select distinct
        city,
        category

    from incidents

),

panel as (

    select
        study_cells.city,
        study_cells.h3_r8,
        weeks.week_start,
        city_categories.category

    from study_cells

    inner join weeks
        on study_cells.city = weeks.city

    inner join city_categories
        on study_cells.city = city_categories.city

),

-- Weeks come from local_date, so an incident late on a Sunday local time
-- stays in that week even when it is already Monday in UTC.
weekly_counts as (

    select
        city,
        h3_r8,
        {{ week_start('local_date') }} as week_start,
        category,
        count(*) as incident_count

    from incidents

    group by
        city,
        h3_r8,
        {{ week_start('local_date') }},
        category

),

final as (

    select
        panel.city,
        panel.h3_r8,
        panel.week_start,
        cast(panel.week_start + interval '6 days' as date) as week_end,
        panel.category,
        coalesce(weekly_counts.incident_count, 0) as incident_count

    from panel

    left join weekly_counts
        on
            panel.city = weekly_counts.city
            and panel.h3_r8 = weekly_counts.h3_r8
            and panel.week_start = weekly_counts.week_start
            and panel.category = weekly_counts.category

)

select * from final
