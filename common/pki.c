/* placeholder: pki */
typedef int bl_placeholder_pki;
