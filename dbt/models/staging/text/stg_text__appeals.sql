with

source as (

    select * from {{ source('text', 'appeals') }}

),

renamed as (

    select
        cast(appeal_id as varchar) as appeal_id,
        category_predicted,
        urgency_predicted,
        city,
        region_code,
        region_name,
        place_source,
        is_duplicate_predicted,
        cast(duplicate_of_id as varchar) as duplicate_of_id,
        duplicate_similarity

    from source

),

final as (

    select * from renamed

)

select * from final
