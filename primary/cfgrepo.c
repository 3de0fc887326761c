/* placeholder */
typedef int bl_placeholder_cfgrepo;
