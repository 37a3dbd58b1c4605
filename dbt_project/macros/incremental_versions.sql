{#- Incremental builds of the latest-version models (stg_orders__orders, stg_reviews__reviews).

    The raw tables keep every delivered version; a re-sent partition replaced all rows of its
    `_dt`, so every row loaded since the last build carries a `_loaded_at` later than the newest
    one the model holds (`loaded_at` of its winning versions: a high-water mark that can only be
    too early, which costs re-ranking, never too late, which would lose data). -#}

{#- The keys whose latest version may have changed since the last build: those with a version
    in a partition loaded since (a new, late or re-sent `_dt`), and those whose current winner
    came from such a partition (a re-send may have withdrawn it). Their versions are re-ranked
    among all the versions ever delivered for them, so a later partition updating an earlier
    order is judged like in a full build. -#}
{% macro keys_to_rerank(key, versions) -%}
    select {{ key }}
    from {{ versions }}
    where _dt in ({{ _partitions_loaded_since_last_build(versions) }})

    union

    select {{ key }}
    from {{ this }}
    where delivered_on in ({{ _partitions_loaded_since_last_build(versions) }})
{%- endmacro %}

{% macro _partitions_loaded_since_last_build(versions) -%}
    select distinct _dt
    from {{ versions }}
    where _loaded_at > (
        select coalesce(max(loaded_at), cast('1970-01-01 00:00:00+00' as {{ type_instant() }}))
        from {{ this }}
    )
{%- endmacro %}

{#- Post-hook. delete+insert replaces the rows of the keys a build re-ranked, but a key with no
    delivered version left (a re-sent partition that no longer holds it) yields no row to
    replace the old one with: remove such rows. -#}
{% macro delete_keys_without_versions(key, versions) -%}
    {{ delete_rows(
        key ~ " not in (select delivered." ~ key ~ " from " ~ versions ~ " as delivered"
        ~ " where delivered." ~ key ~ " is not null)"
    ) }}
{%- endmacro %}

{#- Post-hook of a month-partitioned latest-version model, after delete_keys_without_versions.
    A month rewrite replaces the months it writes: the old row of a key that moved to another
    month stays behind when its old month had no row left to write. -#}
{% macro delete_moved_rows(key) -%}
    {{ delete_rows(
        "built_at < " ~ built_at() ~ " and " ~ key ~ " in (select " ~ key ~ " from " ~ this
        ~ " where built_at = " ~ built_at() ~ ")"
    ) }}
{%- endmacro %}

{#- Month-partitioned latest-version models (`created_month` in the model, `version_month` on
    each delivered version): the months to rewrite are those the changed keys (a CTE of
    keys_to_rerank) are in now, and those any of their versions falls in. -#}
{% macro months_holding_keys(key, changed_keys, versions) -%}
    select created_month from {{ this }}
    where {{ key }} in (select {{ key }} from {{ changed_keys }})

    union

    select version_month from {{ versions }}
    where {{ key }} in (select {{ key }} from {{ changed_keys }})
{%- endmacro %}

{#- The keys with a version in, or a row of this model in, one of `months` (a CTE of
    months_holding_keys): every version of them is ranked again. -#}
{% macro keys_in_months(key, versions, months) -%}
    select {{ key }} from {{ versions }}
    where version_month in (select created_month from {{ months }})

    union

    select {{ key }} from {{ this }}
    where created_month in (select created_month from {{ months }})
{%- endmacro %}
