with

source as (

    select * from {{ source('kz', 'kz_admin_articles') }}

),

renamed as (

    select
        record_id as article,
        title,
        cast(max_fine_mrp as integer) as max_fine_mrp,
        _loaded_at as loaded_at

    from source

),

final as (

    select * from renamed

)

select * from final
