/* SPDX-License-Identifier: Apache-2.0 */
/* Placeholder: filled in by the keystore work. */
typedef int vsm_keyops_placeholder;
