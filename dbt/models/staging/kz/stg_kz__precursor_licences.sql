with

source as (

    select * from {{ source('kz', 'kz_precursor_licences') }}

),

renamed as (

    select
        cast(record_id as bigint) as licence_id,
        licence_no,
        holder_bin,
        holder_name,
        substance,
        cast(max_monthly_kg as double precision) as max_monthly_kg,
        cast(valid_from as date) as valid_from,
        cast(valid_to as date) as valid_to,
        region_code,
        city,
        _loaded_at as loaded_at

    from source

),

final as (

    select * from renamed

)

select * from final
