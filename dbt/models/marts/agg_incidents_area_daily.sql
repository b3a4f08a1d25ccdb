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

panel as (

    select
        days.city,
        days.local_date,
        city_categories.category

    from days

    inner join city_categories
        on days.city = city_categories.city

),

daily_counts as (

    select
        city,
        local_date,
        category,
        count(*) as incident_count

    from incidents

    group by
        city,
        local_date,
        category

),

final as (

    select
        panel.city,
        panel.local_date,
        panel.category,
        coalesce(daily_counts.incident_count, 0) as incident_count

    from panel

    left join daily_counts
        on
            panel.city = daily_counts.city
            and panel.local_date = daily_counts.local_date
            and panel.category = daily_counts.category

)

select * from final
