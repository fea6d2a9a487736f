{#- Use the folder's schema name as it is (staging, intermediate, marts, reference) rather than
    dbt's default "<target>_<name>", so analysts and auditors see stable names. -#}
{% macro generate_schema_name(custom_schema_name, node) -%}
    {{ custom_schema_name if custom_schema_name is not none else target.schema }}
{%- endmacro %}
