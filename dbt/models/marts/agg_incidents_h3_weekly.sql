{#
    Incremental: delete+insert on the row key replaces the rows of whole
    weeks. A run rebuilds the weeks of the study area that are new, whose
    incident total differs from the table's, or that hold incidents loaded
    after the newest last_loaded_at in the table, so a late update that moves
    an incident to another week, cell or category is merged. A city whose set
    of cells or categories changed gets all its weeks rebuilt, because a new
    cell adds a zero row to every week. The post-hook deletes rows outside a
    city's complete weeks, cells or categories. A rerun without new loads
    selects no rows.
#}
{{
    config(
        materialized='incremental',
        unique_key=['city', 'h3_r8', 'week_start', 'category'],
        incremental_strategy='delete+insert',
        on_schema_change='append_new_columns',
        post_hook="{{ delete_weeks_outside_range() }}",
    )
}}

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

{% if is_incremental() %}

built as (

    select * from {{ this }}

),

watermark as (

    select max(last_loaded_at) as loaded_at

    from built

),

built_weeks as (

    select
        city,
        week_start,
        sum(incident_count) as incident_count

    from built

    group by
        city,
        week_start

),

incident_weeks as (

    select
        city,
        week_start,
        count(*) as incident_count,
        max(loaded_at) as last_loaded_at

    from incidents

    group by
        city,
        week_start

),

-- Cities that gained or lost a cell or a category since the last run.
changed_cities as (

    select city from (
        select city, h3_r8 from study_cells
        except
        select city, h3_r8 from built
    ) as new_cells

    union

    select city from (
        select city, h3_r8 from built
        except
        select city, h3_r8 from study_cells
    ) as gone_cells

    union

    select city from (
        select city, category from city_categories
        except
        select city, category from built
    ) as new_categories

    union

    select city from (
        select city, category from built
        except
        select city, category from city_categories
    ) as gone_categories

),

touched_weeks as (

    select
        weeks.city,
        weeks.week_start

    from weeks

    cross join watermark

    left join built_weeks
        on
            weeks.city = built_weeks.city
            and weeks.week_start = built_weeks.week_start

    left join incident_weeks
        on
            weeks.city = incident_weeks.city
            and weeks.week_start = incident_weeks.week_start

    where
        built_weeks.week_start is null
        or coalesce(incident_weeks.incident_count, 0) != built_weeks.incident_count
        or watermark.loaded_at is null
        or incident_weeks.last_loaded_at > watermark.loaded_at
        or weeks.city in (select city from changed_cities)

),

{% else %}

touched_weeks as (

    select
        city,
        week_start

    from weeks

),

{% endif %}

panel as (

    select
        study_cells.city,
        study_cells.h3_r8,
        weeks.week_start,
        city_categories.category

    from study_cells

    inner join touched_weeks as weeks
        on study_cells.city = weeks.city

    inner join city_categories
        on study_cells.city = city_categories.city

),

-- Weeks come from local_date, so an incident late on a Sunday local time
-- stays in that week even when it is already Monday in UTC.
weekly_counts as (

    select
        incidents.city,
        incidents.h3_r8,
        {{ week_start('incidents.local_date') }} as week_start,
        incidents.category,
        count(*) as incident_count,
        max(incidents.loaded_at) as last_loaded_at

    from incidents

    {% if is_incremental() %}
        inner join touched_weeks
            on
                incidents.city = touched_weeks.city
                and incidents.week_start = touched_weeks.week_start
    {% endif %}

    group by
        incidents.city,
        incidents.h3_r8,
        {{ week_start('incidents.local_date') }},
        incidents.category

),

final as (

    select
        panel.city,
        panel.h3_r8,
        panel.week_start,
        cast(panel.week_start + interval '6 days' as date) as week_end,
        panel.category,
        coalesce(weekly_counts.incident_count, 0) as incident_count,
        weekly_counts.last_loaded_at

    from panel

    left join weekly_counts
        on
            panel.city = weekly_counts.city
            and panel.h3_r8 = weekly_counts.h3_r8
            and panel.week_start = weekly_counts.week_start
            and panel.category = weekly_counts.category

)

select * from final
