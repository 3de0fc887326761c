/* placeholder: sched */
typedef int bl_placeholder_sched;
