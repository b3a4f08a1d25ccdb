with

source as (

    select * from {{ source('kz', 'kz_precursor_movements') }}

),

renamed as (

    select
        cast(record_id as bigint) as movement_id,
        waybill_no,
        cast(licence_id as bigint) as licence_id,
        shipper_bin,
        shipper_name,
        consignee_bin,
        substance,
        cast(quantity_kg as double precision) as quantity_kg,
        cast(moved_at as timestamp) as moved_at,
        origin_region,
        origin_city,
        destination_region,
        destination_city,
        _batch_id as batch_id,
        _loaded_at as loaded_at

    from source

),

final as (

    select * from renamed

)

select * from final
