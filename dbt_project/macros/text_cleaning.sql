{#- Text as delivered by upstream systems: stray (also full-width and non-breaking)
    white space around values, full-width Latin letters and digits in Chinese names. -#}

{#- Trim every kind of white space (DuckDB's trim() leaves tabs and new lines); '' becomes null. -#}
{% macro trim_text(column) -%}
    nullif(regexp_replace({{ column }}, '^[\s\p{Z}]+|[\s\p{Z}]+$', '', 'g'), '')
{%- endmacro %}

{#- Full-width ASCII (U+FF01..U+FF5E) and the ideographic space (U+3000) to their half-width forms. -#}
{% macro to_half_width(column) -%}
    translate(
        {{ column }},
        '！＂＃＄％＆＇（）＊＋，－．／０１２３４５６７８９：；＜＝＞？＠ＡＢＣＤＥＦＧＨＩＪＫＬＭＮＯＰＱＲＳＴＵＶＷＸＹＺ［＼］＾＿｀ａｂｃｄｅｆｇｈｉｊｋｌｍｎｏｐｑｒｓｔｕｖｗｘｙｚ｛｜｝～　',
        '!"#$%&''()*+,-./0123456789:;<=>?@ABCDEFGHIJKLMNOPQRSTUVWXYZ[\]^_`abcdefghijklmnopqrstuvwxyz{|}~ '
    )
{%- endmacro %}

{#- A display name: half-width, trimmed. -#}
{% macro clean_name(column) -%}
    {{ trim_text(to_half_width(column)) }}
{%- endmacro %}

{#- GOV-01 name key (docs/rules.md): trim, full-width to half-width, remove all white space. -#}
{% macro name_match_key(column) -%}
    regexp_replace({{ to_half_width(column) }}, '[\s\p{Z}]', '', 'g')
{%- endmacro %}

{#- GOV-07 text key (docs/rules.md): keep letters and digits only (drops white space,
    punctuation and emoji). -#}
{% macro review_text_key(column) -%}
    regexp_replace(coalesce({{ column }}, ''), '[^\p{L}\p{N}]', '', 'g')
{%- endmacro %}
