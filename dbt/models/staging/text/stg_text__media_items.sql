with

source as (

    select * from {{ source('text', 'media_items') }}

),

renamed as (

    select
        item_id,
        source as media_source,
        language,
        title,
        url,
        date_raw,
        published_on,
        source_category,
        threat_class,
        tag_source,
        city,
        region_code,
        week_start

    from source

),

final as (

    select * from renamed

)

select * from final
