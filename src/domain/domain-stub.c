/* placeholder so the module has a translation unit; delete when real sources land */
typedef int ic_domain_placeholder_t;
