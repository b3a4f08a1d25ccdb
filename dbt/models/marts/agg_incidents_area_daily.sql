{#
    Incremental: delete+insert on the row key replaces the rows of whole
    days. A run rebuilds the days that are new, whose incident total differs
    from the table's, or that hold incidents loaded after the newest
    last_loaded_at in the table, so late updates are merged. A city whose set
    of categories changed gets all its days rebuilt. The post-hook deletes rows
    outside a city's date range or categories. A rerun without new loads
    selects no rows.
#}
{{
    config(
        materialized='incremental',
        unique_key=['city', 'local_date', 'category'],
        incremental_strategy='delete+insert',
        on_schema_change='append_new_columns',
        post_hook="{{ delete_days_outside_range() }}",
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

days as (

    select
        city_dates.city,
        cast(series.day_start as date) as local_date

    from city_dates,
        generate_series(
            cast(city_dates.first_date as timestamp),
            cast(city_dates.last_date as timestamp),
            interval '1 day'
        ) as series (day_start)

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

built_days as (

    select
        city,
        local_date,
        sum(incident_count) as incident_count

    from built

    group by
        city,
        local_date

),

incident_days as (

    select
        city,
        local_date,
        count(*) as incident_count,
        max(loaded_at) as last_loaded_at

    from incidents

    group by
        city,
        local_date

),

-- Cities that gained or lost a category since the last run.
changed_cities as (

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

touched_days as (

    select
        days.city,
        days.local_date

    from days

    cross join watermark

    left join built_days
        on
            days.city = built_days.city
            and days.local_date = built_days.local_date

    left join incident_days
        on
            days.city = incident_days.city
            and days.local_date = incident_days.local_date

    where
        built_days.local_date is null
        or coalesce(incident_days.incident_count, 0) != built_days.incident_count
        or watermark.loaded_at is null
        or incident_days.last_loaded_at > watermark.loaded_at
        or days.city in (select city from changed_cities)

),

{% else %}

touched_days as (

    select
        city,
        local_date

    from days

),

{% endif %}

panel as (

    select
        days.city,
        days.local_date,
        city_categories.category

    from touched_days as days

    inner join city_categories
        on days.city = city_categories.city

),

daily_counts as (

    select
        incidents.city,
        incidents.local_date,
        incidents.category,
        count(*) as incident_count,
        max(incidents.loaded_at) as last_loaded_at

    from incidents

    {% if is_incremental() %}
        inner join touched_days
            on
                incidents.city = touched_days.city
                and incidents.local_date = touched_days.local_date
    {% endif %}

    group by
        incidents.city,
        incidents.local_date,
        incidents.category

),

final as (

    select
        panel.city,
        panel.local_date,
        panel.category,
        coalesce(daily_counts.incident_count, 0) as incident_count,
        daily_counts.last_loaded_at

    from panel

    left join daily_counts
        on
            panel.city = daily_counts.city
            and panel.local_date = daily_counts.local_date
            and panel.category = daily_counts.category

)

select * from final
