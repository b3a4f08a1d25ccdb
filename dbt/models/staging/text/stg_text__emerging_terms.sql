with

source as (

    select * from {{ source('text_gold', 'emerging_terms') }}

),

renamed as (

    select
        week_start,
        term,
        count as term_count,
        expected as expected_count,
        p_value,
        example as example_title

    from source

),

final as (

    select * from renamed

)

select * from final
