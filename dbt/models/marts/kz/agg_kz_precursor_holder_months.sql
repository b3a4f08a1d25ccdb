{#
    A holder month is a volume spike when both hold:
    - volume_ratio, its mean kg per movement over the holder's baseline, is at
      least var('kz_precursor_spike_ratio'), so the spike is large;
    - volume_z, the month's mean ln(kg) minus ln(baseline) in standard errors
      (log_kg_stddev / sqrt(movement_count)), is at least
      var('kz_precursor_spike_z'), so a single large movement of a holder whose
      sizes vary widely is not flagged by chance.
#}

with

holder_months as (

    select * from {{ ref('int_kz__precursor_holder_months') }}

),

licences as (

    select * from {{ ref('stg_kz__precursor_licences') }}

),

scored as (

    select
        holder_months.licence_id,
        holder_months.month_start,
        licences.holder_bin,
        licences.substance,
        licences.region_code,
        holder_months.movement_count,
        holder_months.total_kg,
        holder_months.mean_kg,
        holder_months.baseline_kg,
        holder_months.log_kg_stddev,
        holder_months.history_months,
        licences.max_monthly_kg,
        holder_months.mean_kg
        / nullif(holder_months.baseline_kg, 0) as volume_ratio,
        (holder_months.mean_log_kg - ln(holder_months.baseline_kg))
        * sqrt(holder_months.movement_count)
        / nullif(holder_months.log_kg_stddev, 0) as volume_z

    from holder_months

    left join licences
        on holder_months.licence_id = licences.licence_id

),

final as (

    select
        *,
        coalesce(
            volume_ratio >= {{ var('kz_precursor_spike_ratio') }}
            and volume_z >= {{ var('kz_precursor_spike_z') }},
            false
        ) as is_volume_spike,
        coalesce(total_kg > max_monthly_kg, false) as is_above_licence_maximum

    from scored

)

select * from final
