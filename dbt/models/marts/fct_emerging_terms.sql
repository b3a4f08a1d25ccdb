with

terms as (

    select * from {{ ref('stg_text__emerging_terms') }}

),

final as (

    select
        week_start,
        term,
        term_count,
        expected_count,
        p_value,
        example_title,
        position(' + ' in term) > 0 as is_term_pair,
        cast(term_count as double precision)
        / nullif(expected_count, 0) as rate_ratio

    from terms

)

select * from final
