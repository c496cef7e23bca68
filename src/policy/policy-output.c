/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The decision as JSON (docs/json/policy-decision.md), text, and the
 * libvirt XML elements it stands for. */
#include "policy/policy-private.h"

#include <libxml/tree.h>

static const char *
on_off(gboolean b)
{
  return b ? "on" : "off";
}

char *
ic_policy_decision_iommu_xml(const IcPolicyDecision *d)
{
  if (d->model == IC_VIOMMU_NONE || d->fault_exception != NULL)
    return NULL;
  xmlNodePtr iommu = xmlNewNode(NULL, BAD_CAST "iommu");
  xmlNewProp(iommu, BAD_CAST "model", BAD_CAST ic_viommu_model_name(d->model));
  if (d->has_driver) {
    /* Nova's attribute order: intremap, caching_mode, aw_bits, eim, iotlb */
    xmlNodePtr drv = xmlNewChild(iommu, NULL, BAD_CAST "driver", NULL);
    xmlNewProp(drv, BAD_CAST "intremap", BAD_CAST on_off(d->intremap));
    xmlNewProp(drv, BAD_CAST "caching_mode", BAD_CAST on_off(d->caching_mode));
    if (d->aw_bits != 0) {
      char buf[16];
      g_snprintf(buf, sizeof buf, "%u", d->aw_bits);
      xmlNewProp(drv, BAD_CAST "aw_bits", BAD_CAST buf);
    }
    xmlNewProp(drv, BAD_CAST "eim", BAD_CAST on_off(d->eim));
    xmlNewProp(drv, BAD_CAST "iotlb", BAD_CAST on_off(d->iotlb));
  }
  xmlBufferPtr buf = xmlBufferCreate();
  xmlNodeDump(buf, NULL, iommu, 0, 0);
  char *s = g_strdup((const char *) xmlBufferContent(buf));
  xmlBufferFree(buf);
  xmlFreeNode(iommu);
  /* libxml writes attributes with double quotes; libvirt's and Nova's
   * examples use single quotes, and so do we for readability */
  g_strdelimit(s, "\"", '\'');
  return s;
}

static void
add_rule(JsonBuilder *b, const char *key, const char *value, const char *rule)
{
  json_builder_set_member_name(b, key);
  json_builder_begin_object(b);
  ic_json_add_string_or_null(b, "value", value);
  ic_json_add_string_or_null(b, "rule", rule);
  json_builder_end_object(b);
}

char *
ic_policy_decision_to_json(const IcPolicyDecision *d)
{
  g_autoptr(JsonBuilder) b = ic_json_begin_document("policy-decision", 1);
  ic_json_add_bool(b, "ok", d->fault_exception == NULL);
  add_rule(b, "arch", d->arch, d->arch_rule);
  add_rule(b, "machine_type", d->machine_type, d->machine_type_rule);
  add_rule(b, "requested_viommu", ic_viommu_model_name(d->requested), d->requested_rule);

  json_builder_set_member_name(b, "viommu");
  json_builder_begin_object(b);
  ic_json_add_string_or_null(b, "model", ic_viommu_model_name(d->model));
  ic_json_add_string_or_null(b, "rule", d->model_rule);
  json_builder_set_member_name(b, "driver");
  if (d->has_driver) {
    json_builder_begin_object(b);
    ic_json_add_string_or_null(b, "intremap", on_off(d->intremap));
    ic_json_add_string_or_null(b, "caching_mode", on_off(d->caching_mode));
    json_builder_set_member_name(b, "aw_bits");
    if (d->aw_bits)
      json_builder_add_int_value(b, d->aw_bits);
    else
      json_builder_add_null_value(b);
    ic_json_add_string_or_null(b, "eim", on_off(d->eim));
    ic_json_add_string_or_null(b, "iotlb", on_off(d->iotlb));
    json_builder_end_object(b);
  } else {
    json_builder_add_null_value(b);
  }
  json_builder_set_member_name(b, "ioapic_driver");
  if (d->model != IC_VIOMMU_NONE && d->ioapic_qemu)
    json_builder_add_string_value(b, "qemu");
  else
    json_builder_add_null_value(b);
  g_autofree char *xml = ic_policy_decision_iommu_xml(d);
  ic_json_add_string_or_null(b, "xml", xml);
  json_builder_end_object(b);

  json_builder_set_member_name(b, "locked_memory");
  json_builder_begin_object(b);
  json_builder_set_member_name(b, "value");
  if (d->locked == IC_POLICY_UNSET)
    json_builder_add_null_value(b);
  else
    json_builder_add_boolean_value(b, d->locked == IC_POLICY_TRUE);
  ic_json_add_string_or_null(b, "rule", d->locked_rule);
  ic_json_add_bool(b, "nosharepages", d->nosharepages);
  json_builder_end_object(b);

  json_builder_set_member_name(b, "error");
  if (d->fault_exception != NULL) {
    json_builder_begin_object(b);
    ic_json_add_string_or_null(b, "exception", d->fault_exception);
    ic_json_add_string_or_null(b, "message", d->fault_message);
    ic_json_add_string_or_null(b, "stage", d->fault_stage);
    json_builder_set_member_name(b, "http_status");
    if (d->fault_http)
      json_builder_add_int_value(b, d->fault_http);
    else
      json_builder_add_null_value(b);
    json_builder_end_object(b);
  } else {
    json_builder_add_null_value(b);
  }
  json_builder_set_member_name(b, "notes");
  json_builder_begin_array(b);
  for (guint i = 0; i < d->notes->len; i++)
    json_builder_add_string_value(b, g_ptr_array_index(d->notes, i));
  json_builder_end_array(b);
  json_builder_end_object(b);
  g_autoptr(JsonNode) root = json_builder_get_root(b);
  return ic_json_to_string(root, TRUE);
}

char *
ic_policy_decision_to_text(const IcPolicyDecision *d)
{
  GString *s = g_string_new(NULL);
  if (d->fault_exception != NULL) {
    g_string_append_printf(s, "refused: %s: %s\n", d->fault_exception, d->fault_message);
    if (d->fault_http)
      g_string_append_printf(s, "  (the API answers HTTP %d)\n", d->fault_http);
    else if (g_strcmp0(d->fault_stage, "compute") == 0)
      g_string_append(s, "  (raised on the compute node at spawn)\n");
  }
  if (d->arch)
    g_string_append_printf(s, "arch:          %s  [%s]\n", d->arch, d->arch_rule);
  if (d->arch)
    g_string_append_printf(s, "machine type:  %s  [%s]\n", d->machine_type ? d->machine_type : "(none)",
                           d->machine_type_rule);
  if (d->requested_rule)
    g_string_append_printf(s, "requested:     %s  [%s]\n",
                           d->requested ? ic_viommu_model_name(d->requested) : "none", d->requested_rule);
  if (d->model_rule) {
    g_string_append_printf(s, "vIOMMU:        %s  [%s]\n",
                           d->model ? ic_viommu_model_name(d->model) : "none", d->model_rule);
    g_autofree char *xml = ic_policy_decision_iommu_xml(d);
    if (xml)
      g_string_append_printf(s, "  device:      %s\n", xml);
    if (d->model != IC_VIOMMU_NONE && d->ioapic_qemu && d->fault_exception == NULL)
      g_string_append(s, "  feature:     <ioapic driver='qemu'/>\n");
  }
  if (d->locked_rule)
    g_string_append_printf(s, "locked memory: %s  [%s]\n", d->locked == IC_POLICY_TRUE ? "yes" : "no",
                           d->locked_rule);
  if (d->nosharepages)
    g_string_append(s, "  also:        <nosharepages/>\n");
  for (guint i = 0; i < d->notes->len; i++)
    g_string_append_printf(s, "note: %s\n", (const char *) g_ptr_array_index(d->notes, i));
  return g_string_free(s, FALSE);
}
