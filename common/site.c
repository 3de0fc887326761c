/* placeholder: site */
typedef int bl_placeholder_site;
