with

appeals as (

    select * from {{ ref('stg_appeals__appeals') }}

),

counts as (

    select
        category,
        region,
        count(*) as appeal_count,
        sum(case when is_duplicate then 1 else 0 end) as duplicate_count

    from appeals

    group by
        category,
        region

),

final as (

    select
        category,
        region,
        appeal_count,
        duplicate_count,
        cast(duplicate_count as double precision)
        / appeal_count as duplicate_share

    from counts

)

select * from final
