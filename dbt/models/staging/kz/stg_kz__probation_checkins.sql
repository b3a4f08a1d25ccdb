with

source as (

    select * from {{ source('kz', 'kz_probation_checkins') }}

),

renamed as (

    select
        cast(record_id as bigint) as checkin_id,
        cast(person_id as bigint) as person_id,
        cast(scheduled_date as date) as scheduled_date,
        status,
        cast(checked_in_at as timestamp) as checked_in_at,
        cast(warning_issued_at as date) as warning_issued_on,
        office_code,
        _batch_id as batch_id,
        _loaded_at as loaded_at

    from source

),

final as (

    select * from renamed

)

select * from final
