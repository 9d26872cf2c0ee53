/* ImageNet-1k class names, index order (tools/imagenet_labels.c). */
#ifndef BCLC_IMAGENET_LABELS_H
#define BCLC_IMAGENET_LABELS_H

#define BCLC_IMAGENET_CLASSES 1000
extern const char *const bclc_imagenet_labels[BCLC_IMAGENET_CLASSES];

#endif
