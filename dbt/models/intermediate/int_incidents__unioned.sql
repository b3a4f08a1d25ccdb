{%- set common_columns = [
    'incident_id',
    'source',
    'city',
    'occurred_at_utc',
    'occurred_at_local',
    'local_date',
    'timezone',
    'time_precision',
    'offense',
    'category',
    'lat',
    'lon',
    'h3_r7',
    'h3_r8',
    'h3_r9',
    'quality_flags',
    'batch_id',
    'loaded_at',
] -%}

with

houston_offenses as (

    select * from {{ ref('stg_houston__offenses') }}

),

portland_calls as (

    select * from {{ ref('stg_portland__calls') }}

),

edinburgh_accidents as (

    select * from {{ ref('stg_edinburgh__accidents') }}

),

unioned as (

    select {{ common_columns | join(', ') }}
    from houston_offenses

    union all

    select {{ common_columns | join(', ') }}
    from portland_calls

    union all

    select {{ common_columns | join(', ') }}
    from edinburgh_accidents

),

final as (

    select * from unioned

)

select * from final
