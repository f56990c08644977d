using System.Runtime.Intrinsics;

namespace Elmo.Kernels.Simd;

/// <summary>A kernel written once over <see cref="IVectorOps{TVec}"/>; <see cref="VectorKernel.Run"/> picks the path.</summary>
internal interface IVectorKernel
{
    /// <summary>Runs the kernel on vectors of <typeparamref name="TVec"/> (its tails on <see cref="ScalarOps"/>).</summary>
    void Run<TOps, TVec>()
        where TOps : struct, IVectorOps<TVec>
        where TVec : struct;
}

/// <summary>The one place where element-wise kernels are dispatched to a hardware path.</summary>
internal static class VectorKernel
{
    /// <summary>Runs <paramref name="kernel"/> on <paramref name="path"/>, <see cref="KernelPaths.Best"/> by default.</summary>
    public static void Run<TKernel>(ref TKernel kernel, KernelPath? path = null)
        where TKernel : IVectorKernel, allows ref struct
    {
        switch (path ?? KernelPaths.Best)
        {
            case KernelPath.Vector512:
                kernel.Run<Vector512Ops, Vector512<float>>();
                break;
            case KernelPath.Vector256:
                kernel.Run<Vector256Ops, Vector256<float>>();
                break;
            case KernelPath.Vector128:
                kernel.Run<Vector128Ops, Vector128<float>>();
                break;
            default:
                kernel.Run<ScalarOps, float>();
                break;
        }
    }
}
