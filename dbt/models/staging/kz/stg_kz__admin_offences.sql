with

source as (

    select * from {{ source('kz', 'kz_admin_offences') }}

),

renamed as (

    select
        cast(record_id as bigint) as offence_id,
        protocol_no,
        event_ref,
        article,
        cast(offence_at as timestamp) as offence_at,
        cast(decision_at as timestamp) as decision_at,
        offender_iin,
        region_code,
        city,
        cast(penalty_mrp as integer) as penalty_mrp,
        cast(penalty_kzt as double precision) as penalty_kzt,
        _batch_id as batch_id,
        _loaded_at as loaded_at

    from source

),

final as (

    select * from renamed

)

select * from final
