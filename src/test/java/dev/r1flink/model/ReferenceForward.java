package dev.r1flink.model;

import dev.r1flink.tensor.Float16;
import dev.r1flink.tensor.FloatTensor;

/**
 * A naive one-token-at-a-time transformer written from the textbook formulas, independent of {@link Model}: weights
 * dequantized to float[][] up front, double accumulators everywhere, RoPE angles from the closed formula. The only
 * thing it shares with the model is the decision to keep K/V rounded to F16, which is part of the spec.
 */
final class ReferenceForward {

    private final ModelConfig c;
    private final float[][] embd, out;
    private final float[] outNorm, ropeFreqs;
    private final Lw[] layers;
    private final float[][][] kCache, vCache; // [layer][pos][kvDim]
    private int pos;

    private record Lw(float[] attnNorm, float[][] q, float[][] k, float[][] v, float[] bq, float[] bk, float[] bv,
                      float[] qNorm, float[] kNorm, float[][] o, float[] ffnNorm, float[][] gate, float[][] up,
                      float[][] down) {}

    ReferenceForward(Model m, int maxPos) {
        c = m.config;
        Weights w = m.weights;
        embd = dense(w.tokenEmbd);
        out = dense(w.output);
        outNorm = w.outputNorm;
        ropeFreqs = w.ropeFreqs;
        layers = new Lw[c.blockCount()];
        for (int l = 0; l < layers.length; l++) {
            Weights.Layer L = w.layers[l];
            layers[l] = new Lw(L.attnNorm(), dense(L.attnQ()), dense(L.attnK()), dense(L.attnV()), L.attnQBias(),
                    L.attnKBias(), L.attnVBias(), L.attnQNorm(), L.attnKNorm(), dense(L.attnOutput()), L.ffnNorm(),
                    dense(L.ffnGate()), dense(L.ffnUp()), dense(L.ffnDown()));
        }
        kCache = new float[c.blockCount()][maxPos][];
        vCache = new float[c.blockCount()][maxPos][];
    }

    static float[][] dense(FloatTensor t) {
        float[][] d = new float[t.rows()][t.cols()];
        for (int r = 0; r < t.rows(); r++) {
            for (int col = 0; col < t.cols(); col++) {
                d[r][col] = t.get(r, col);
            }
        }
        return d;
    }

    /** Feeds the next token; returns its logits. */
    float[] step(int token) {
        int dim = c.embeddingLength(), hd = c.headDim();
        float[] x = embd[token].clone();
        for (int l = 0; l < layers.length; l++) {
            Lw L = layers[l];
            float[] h = norm(x, L.attnNorm);
            float[] q = add(matvec(L.q, h), L.bq);
            float[] k = add(matvec(L.k, h), L.bk);
            float[] v = add(matvec(L.v, h), L.bv);
            for (int hh = 0; hh < c.headCount(); hh++) {
                headNormRope(q, hh * hd, L.qNorm);
            }
            for (int hh = 0; hh < c.headCountKv(); hh++) {
                headNormRope(k, hh * hd, L.kNorm);
            }
            kCache[l][pos] = f16(k);
            vCache[l][pos] = f16(v);
            float[] att = new float[c.qDim()];
            int group = c.headCount() / c.headCountKv();
            for (int hh = 0; hh < c.headCount(); hh++) {
                int kvo = (hh / group) * hd;
                double[] s = new double[pos + 1];
                double max = Double.NEGATIVE_INFINITY;
                for (int t = 0; t <= pos; t++) {
                    double dot = 0;
                    for (int d = 0; d < hd; d++) {
                        dot += (double) q[hh * hd + d] * kCache[l][t][kvo + d];
                    }
                    s[t] = dot / Math.sqrt(hd);
                    max = Math.max(max, s[t]);
                }
                double sum = 0;
                for (int t = 0; t <= pos; t++) {
                    s[t] = Math.exp(s[t] - max);
                    sum += s[t];
                }
                for (int d = 0; d < hd; d++) {
                    double acc = 0;
                    for (int t = 0; t <= pos; t++) {
                        acc += s[t] / sum * vCache[l][t][kvo + d];
                    }
                    att[hh * hd + d] = (float) acc;
                }
            }
            float[] o = matvec(L.o, att);
            for (int i = 0; i < dim; i++) {
                x[i] += o[i];
            }
            h = norm(x, L.ffnNorm);
            float[] g = matvec(L.gate, h), u = matvec(L.up, h);
            for (int i = 0; i < g.length; i++) {
                g[i] = (float) (g[i] / (1 + Math.exp(-g[i])) * u[i]);
            }
            float[] dn = matvec(L.down, g);
            for (int i = 0; i < dim; i++) {
                x[i] += dn[i];
            }
        }
        pos++;
        return matvec(out, norm(x, outNorm));
    }

    private void headNormRope(float[] v, int off, float[] normWeight) {
        int hd = c.headDim();
        if (normWeight != null) {
            float[] head = java.util.Arrays.copyOfRange(v, off, off + hd);
            System.arraycopy(norm(head, normWeight), 0, v, off, hd);
        }
        int rd = c.ropeDimensionCount();
        for (int i = 0; i < rd / 2; i++) {
            double freq = Math.pow(c.ropeFreqBase(), -2.0 * i / rd);
            if (ropeFreqs != null) {
                freq /= ropeFreqs[i];
            }
            double theta = pos * freq;
            boolean neox = c.architecture() == Architecture.QWEN2 || c.architecture() == Architecture.QWEN3;
            int a = neox ? off + i : off + 2 * i;
            int b = neox ? off + i + rd / 2 : off + 2 * i + 1;
            double x0 = v[a], x1 = v[b];
            v[a] = (float) (x0 * Math.cos(theta) - x1 * Math.sin(theta));
            v[b] = (float) (x0 * Math.sin(theta) + x1 * Math.cos(theta));
        }
    }

    private float[] norm(float[] x, float[] w) {
        double ss = 0;
        for (float v : x) {
            ss += (double) v * v;
        }
        double scale = 1 / Math.sqrt(ss / x.length + c.layerNormRmsEpsilon());
        float[] o = new float[x.length];
        for (int i = 0; i < x.length; i++) {
            o[i] = (float) (x[i] * scale * w[i]);
        }
        return o;
    }

    private static float[] matvec(float[][] w, float[] x) {
        float[] o = new float[w.length];
        for (int r = 0; r < w.length; r++) {
            double acc = 0;
            for (int i = 0; i < x.length; i++) {
                acc += (double) w[r][i] * x[i];
            }
            o[r] = (float) acc;
        }
        return o;
    }

    private static float[] add(float[] x, float[] b) {
        if (b != null) {
            for (int i = 0; i < x.length; i++) {
                x[i] += b[i];
            }
        }
        return x;
    }

    private static float[] f16(float[] x) {
        float[] o = new float[x.length];
        for (int i = 0; i < x.length; i++) {
            o[i] = Float16.halfToFloat(Float16.floatToHalf(x[i]));
        }
        return o;
    }
}
