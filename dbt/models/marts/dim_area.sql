-- NOTE: cities only. Portland police districts need district polygons, which
-- no landed source provides yet.
with

incidents as (

    select * from {{ ref('fct_incidents') }}

),

final as (

    select
        city,
        'city' as area_level,
        min(timezone) as timezone,
        min(local_date) as first_date,
        max(local_date) as last_date,
        count(*) as incident_count,
        count(distinct h3_r8) as h3_r8_cell_count,
        avg(lat) as mean_lat,
        avg(lon) as mean_lon

    from incidents

    group by city

)

select * from final
