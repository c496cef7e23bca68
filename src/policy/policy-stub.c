/* placeholder so the module has a translation unit; delete when real sources land */
typedef int ic_policy_placeholder_t;
