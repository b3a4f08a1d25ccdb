{#
    One row per area of the active lake. The embedded default has cities and
    the Portland police districts. The kz profile (var kz_marts) has the
    country and its 2022 regions, because its lake has no fct_incidents.
    The model carries the kz tag so that the kz profile's `--select tag:kz`
    builds it.
#}
{{ config(tags=['kz']) }}

{% if var('kz_marts', false) %}

with

regions as (

    select * from {{ ref('stg_kz__regions') }}

),

cases as (

    select
        region_code,
        cast(occurred_at as date) as local_date,
        h3_r8

    from {{ ref('stg_kz__crime_cases') }}

),

region_cases as (

    select
        region_code,
        min(local_date) as first_date,
        max(local_date) as last_date,
        count(*) as incident_count,
        count(distinct h3_r8) as h3_r8_cell_count

    from cases

    group by region_code

),

country as (

    select
        'kazakhstan' as area_key,
        'country' as area_level,
        cast(null as varchar) as parent_area_key,
        'KZ' as area_code,
        'Kazakhstan' as area_name,
        cast(null as varchar) as outline_wkt,
        (select sum(area_km2) from regions) as area_km2,
        cast(null as double precision) as centroid_lat,
        cast(null as double precision) as centroid_lon,
        -- The registries record every time on the Asia/Almaty wall clock.
        'Asia/Almaty' as timezone,
        min(local_date) as first_date,
        max(local_date) as last_date,
        count(*) as incident_count,
        count(distinct h3_r8) as h3_r8_cell_count

    from cases

),

region_areas as (

    select
        'kazakhstan/region/' || regions.region_code as area_key,
        'region' as area_level,
        'kazakhstan' as parent_area_key,
        regions.region_code as area_code,
        regions.region_name as area_name,
        regions.outline_wkt,
        regions.area_km2,
        regions.centroid_lat,
        regions.centroid_lon,
        'Asia/Almaty' as timezone,
        region_cases.first_date,
        region_cases.last_date,
        coalesce(region_cases.incident_count, 0) as incident_count,
        coalesce(region_cases.h3_r8_cell_count, 0) as h3_r8_cell_count

    from regions

    left join region_cases
        on regions.region_code = region_cases.region_code

),

final as (

    select * from country
    union all
    select * from region_areas

)

select * from final

{% else %}

with

incidents as (

    select * from {{ ref('fct_incidents') }}

),

districts as (

    select * from {{ ref('stg_portland__districts') }}

),

incident_districts as (

    select * from {{ ref('stg_lake__incident_districts') }}

),

cities as (

    select
        city as area_key,
        'city' as area_level,
        cast(null as varchar) as parent_area_key,
        city as area_code,
        city as area_name,
        cast(null as varchar) as outline_wkt,
        cast(null as double precision) as area_km2,
        -- A city has no outline, so its centroid is the mean incident position.
        avg(lat) as centroid_lat,
        avg(lon) as centroid_lon,
        min(timezone) as timezone,
        min(local_date) as first_date,
        max(local_date) as last_date,
        count(*) as incident_count,
        count(distinct h3_r8) as h3_r8_cell_count

    from incidents

    group by city

),

district_incidents as (

    select
        incident_districts.district,
        min(incidents.local_date) as first_date,
        max(incidents.local_date) as last_date,
        count(*) as incident_count,
        count(distinct incidents.h3_r8) as h3_r8_cell_count

    from incidents

    inner join incident_districts
        on
            incidents.source = incident_districts.source
            and incidents.incident_id = incident_districts.incident_id

    group by incident_districts.district

),

district_areas as (

    select
        'portland/district/' || districts.district as area_key,
        'district' as area_level,
        'portland' as parent_area_key,
        districts.district as area_code,
        'District ' || districts.district || ' (' || districts.precinct || ' precinct)'
            as area_name,
        districts.outline_wkt,
        districts.area_km2,
        districts.centroid_lat,
        districts.centroid_lon,
        'America/Los_Angeles' as timezone,
        district_incidents.first_date,
        district_incidents.last_date,
        coalesce(district_incidents.incident_count, 0) as incident_count,
        coalesce(district_incidents.h3_r8_cell_count, 0) as h3_r8_cell_count

    from districts

    left join district_incidents
        on districts.district = district_incidents.district

),

final as (

    select * from cities
    union all
    select * from district_areas

)

select * from final

{% endif %}
