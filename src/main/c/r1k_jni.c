/*
 * JNI glue for dev.r1flink.tensor.NativeKernels: the Java side has already checked every shape, offset and
 * length against the arrays (NativeKernels.check*), so this file only pins the arrays and calls the kernel.
 * Calls are short (one matmul over a row range, or one attention unit), as GetPrimitiveArrayCritical requires.
 */
#include <jni.h>

#include "r1k.h"

JNIEXPORT jint JNICALL Java_dev_r1flink_tensor_NativeKernels_bestIsa0(JNIEnv *env, jclass cls) {
    (void) env;
    (void) cls;
    return r1k_best_isa();
}

JNIEXPORT void JNICALL Java_dev_r1flink_tensor_NativeKernels_quantize0(JNIEnv *env, jclass cls, jint isa, jint kind,
        jfloatArray x, jint x_offset, jint rows, jint cols, jint x_stride, jbyteArray out) {
    (void) cls;
    const r1k_kernels *k = r1k_kernels_for(isa);
    if (!k) {
        return;
    }
    float *xp = (*env)->GetPrimitiveArrayCritical(env, x, 0);
    if (!xp) {
        return;
    }
    uint8_t *op = (*env)->GetPrimitiveArrayCritical(env, out, 0);
    if (op) {
        if (kind == 0) {
            k->quantize_q8_0(xp + x_offset, rows, cols, x_stride, op);
        } else {
            k->quantize_q8_K(xp + x_offset, rows, cols, x_stride, op);
        }
        (*env)->ReleasePrimitiveArrayCritical(env, out, op, 0);
    }
    (*env)->ReleasePrimitiveArrayCritical(env, x, xp, JNI_ABORT);
}

JNIEXPORT void JNICALL Java_dev_r1flink_tensor_NativeKernels_matmul0(JNIEnv *env, jclass cls, jint isa, jint type,
        jbyteArray w, jint w_offset, jint row_bytes, jint cols, jint row_from, jint row_to, jbyteArray xq,
        jint batch, jfloatArray out, jint out_offset, jint out_stride) {
    (void) cls;
    const r1k_kernels *k = r1k_kernels_for(isa);
    if (!k) {
        return;
    }
    uint8_t *wp = (*env)->GetPrimitiveArrayCritical(env, w, 0);
    if (!wp) {
        return;
    }
    uint8_t *xp = (*env)->GetPrimitiveArrayCritical(env, xq, 0);
    if (xp) {
        float *op = (*env)->GetPrimitiveArrayCritical(env, out, 0);
        if (op) {
            k->matmul(type, wp + w_offset, (size_t) row_bytes, cols, row_from, row_to, xp, batch, op + out_offset,
                      out_stride);
            (*env)->ReleasePrimitiveArrayCritical(env, out, op, 0);
        }
        (*env)->ReleasePrimitiveArrayCritical(env, xq, xp, JNI_ABORT);
    }
    (*env)->ReleasePrimitiveArrayCritical(env, w, wp, JNI_ABORT);
}

JNIEXPORT void JNICALL Java_dev_r1flink_tensor_NativeKernels_attnDots0(JNIEnv *env, jclass cls, jint isa,
        jshortArray k, jintArray rows, jint count, jfloatArray q, jint q_off, jint heads, jint n, jfloatArray out,
        jint out_stride) {
    (void) cls;
    const r1k_kernels *kn = r1k_kernels_for(isa);
    if (!kn) {
        return;
    }
    uint16_t *kp = (*env)->GetPrimitiveArrayCritical(env, k, 0);
    int32_t *rp = kp ? (*env)->GetPrimitiveArrayCritical(env, rows, 0) : NULL;
    float *qp = rp ? (*env)->GetPrimitiveArrayCritical(env, q, 0) : NULL;
    float *op = qp ? (*env)->GetPrimitiveArrayCritical(env, out, 0) : NULL;
    if (op) {
        kn->attn_dots_f16(kp, rp, count, qp + q_off, heads, n, op, out_stride);
        (*env)->ReleasePrimitiveArrayCritical(env, out, op, 0);
    }
    if (qp) (*env)->ReleasePrimitiveArrayCritical(env, q, qp, JNI_ABORT);
    if (rp) (*env)->ReleasePrimitiveArrayCritical(env, rows, rp, JNI_ABORT);
    if (kp) (*env)->ReleasePrimitiveArrayCritical(env, k, kp, JNI_ABORT);
}

JNIEXPORT void JNICALL Java_dev_r1flink_tensor_NativeKernels_attnAxpys0(JNIEnv *env, jclass cls, jint isa,
        jfloatArray a, jint a_stride, jfloatArray scale, jshortArray v, jintArray rows, jint count, jfloatArray out,
        jint out_off, jint heads, jint n) {
    (void) cls;
    const r1k_kernels *kn = r1k_kernels_for(isa);
    if (!kn) {
        return;
    }
    float *ap = (*env)->GetPrimitiveArrayCritical(env, a, 0);
    float *sp = ap ? (*env)->GetPrimitiveArrayCritical(env, scale, 0) : NULL;
    uint16_t *vp = sp ? (*env)->GetPrimitiveArrayCritical(env, v, 0) : NULL;
    int32_t *rp = vp ? (*env)->GetPrimitiveArrayCritical(env, rows, 0) : NULL;
    float *op = rp ? (*env)->GetPrimitiveArrayCritical(env, out, 0) : NULL;
    if (op) {
        kn->attn_axpys_f16(ap, a_stride, sp, vp, rp, count, op + out_off, heads, n);
        (*env)->ReleasePrimitiveArrayCritical(env, out, op, 0);
    }
    if (rp) (*env)->ReleasePrimitiveArrayCritical(env, rows, rp, JNI_ABORT);
    if (vp) (*env)->ReleasePrimitiveArrayCritical(env, v, vp, JNI_ABORT);
    if (sp) (*env)->ReleasePrimitiveArrayCritical(env, scale, sp, JNI_ABORT);
    if (ap) (*env)->ReleasePrimitiveArrayCritical(env, a, ap, JNI_ABORT);
}
