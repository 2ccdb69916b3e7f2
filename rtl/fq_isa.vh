// Generated from rtl/fq_isa.def by cmake/FqIsa.cmake (cmake --build build --target fq_isa): do not edit.
// The instruction word's fields as `define's: FQ_ISA_<UNIT>_<FIELD>(w) is the field's slice of
// word w, _LSB and _W its position; FQ_ISA_OP_<NAME> the opcodes, sized as the opcode field.
`ifndef FQ_ISA_VH
`define FQ_ISA_VH

`define FQ_ISA_WORD_BITS 512
`define FQ_ISA_UNIT_DMA_IN 0
`define FQ_ISA_UNIT_ARRAY 1
`define FQ_ISA_UNIT_EPILOGUE 2
`define FQ_ISA_UNIT_DMA_OUT 3
`define FQ_ISA_OP_DMA_LOAD 3'd0
`define FQ_ISA_OP_DMA_STORE 3'd1
`define FQ_ISA_OP_PRELOAD 3'd2
`define FQ_ISA_OP_MATMUL 3'd3
`define FQ_ISA_OP_DEQUANT 3'd5

// all opcode: the opcode (model/ir Opcode)
`define FQ_ISA_OPCODE_LSB 0
`define FQ_ISA_OPCODE_W 3
`define FQ_ISA_OPCODE(w) w[2:0]

// all need_dma_in: how many dma_in ops must be done before this op issues
`define FQ_ISA_NEED_DMA_IN_LSB 384
`define FQ_ISA_NEED_DMA_IN_W 32
`define FQ_ISA_NEED_DMA_IN(w) w[415:384]

// all need_array: how many array ops must be done before this op issues
`define FQ_ISA_NEED_ARRAY_LSB 416
`define FQ_ISA_NEED_ARRAY_W 32
`define FQ_ISA_NEED_ARRAY(w) w[447:416]

// all need_epilogue: how many epilogue ops must be done before this op issues
`define FQ_ISA_NEED_EPILOGUE_LSB 448
`define FQ_ISA_NEED_EPILOGUE_W 32
`define FQ_ISA_NEED_EPILOGUE(w) w[479:448]

// all need_dma_out: how many dma_out ops must be done before this op issues
`define FQ_ISA_NEED_DMA_OUT_LSB 480
`define FQ_ISA_NEED_DMA_OUT_W 32
`define FQ_ISA_NEED_DMA_OUT(w) w[511:480]

// dma_in buf: destination buffer: 0 wbuf, 1 abuf, 3 sbuf
`define FQ_ISA_DMA_IN_BUF_LSB 8
`define FQ_ISA_DMA_IN_BUF_W 2
`define FQ_ISA_DMA_IN_BUF(w) w[9:8]

// dma_in src: DRAM address of the first byte
`define FQ_ISA_DMA_IN_SRC_LSB 32
`define FQ_ISA_DMA_IN_SRC_W 64
`define FQ_ISA_DMA_IN_SRC(w) w[95:32]

// dma_in src_stride: DRAM bytes between rows
`define FQ_ISA_DMA_IN_SRC_STRIDE_LSB 96
`define FQ_ISA_DMA_IN_SRC_STRIDE_W 32
`define FQ_ISA_DMA_IN_SRC_STRIDE(w) w[127:96]

// dma_in dst: buffer address of the first byte
`define FQ_ISA_DMA_IN_DST_LSB 128
`define FQ_ISA_DMA_IN_DST_W 32
`define FQ_ISA_DMA_IN_DST(w) w[159:128]

// dma_in dst_stride: buffer bytes between rows
`define FQ_ISA_DMA_IN_DST_STRIDE_LSB 192
`define FQ_ISA_DMA_IN_DST_STRIDE_W 32
`define FQ_ISA_DMA_IN_DST_STRIDE(w) w[223:192]

// dma_in rows: rows moved
`define FQ_ISA_DMA_IN_ROWS_LSB 224
`define FQ_ISA_DMA_IN_ROWS_W 32
`define FQ_ISA_DMA_IN_ROWS(w) w[255:224]

// dma_in bytes: bytes per row
`define FQ_ISA_DMA_IN_BYTES_LSB 256
`define FQ_ISA_DMA_IN_BYTES_W 32
`define FQ_ISA_DMA_IN_BYTES(w) w[287:256]

// array acc: matmul: 1 adds to the obuf row, 0 overwrites it
`define FQ_ISA_ARRAY_ACC_LSB 16
`define FQ_ISA_ARRAY_ACC_W 1
`define FQ_ISA_ARRAY_ACC(w) w[16:16]

// array fmt: weight format: 0 FineQ-R, else the INT weight bits (8, 4, 3, 2)
`define FQ_ISA_ARRAY_FMT_LSB 24
`define FQ_ISA_ARRAY_FMT_W 4
`define FQ_ISA_ARRAY_FMT(w) w[27:24]

// array src: preload: wbuf address of the tile; matmul: abuf address of row 0
`define FQ_ISA_ARRAY_SRC_LSB 32
`define FQ_ISA_ARRAY_SRC_W 32
`define FQ_ISA_ARRAY_SRC(w) w[63:32]

// array src_stride: source bytes between rows
`define FQ_ISA_ARRAY_SRC_STRIDE_LSB 96
`define FQ_ISA_ARRAY_SRC_STRIDE_W 32
`define FQ_ISA_ARRAY_SRC_STRIDE(w) w[127:96]

// array dst: matmul: obuf address of the first accumulator row
`define FQ_ISA_ARRAY_DST_LSB 128
`define FQ_ISA_ARRAY_DST_W 32
`define FQ_ISA_ARRAY_DST(w) w[159:128]

// array dst_stride: matmul: obuf bytes between accumulator rows
`define FQ_ISA_ARRAY_DST_STRIDE_LSB 192
`define FQ_ISA_ARRAY_DST_STRIDE_W 32
`define FQ_ISA_ARRAY_DST_STRIDE(w) w[223:192]

// array m: matmul: rows of activations streamed (M extent)
`define FQ_ISA_ARRAY_M_LSB 224
`define FQ_ISA_ARRAY_M_W 32
`define FQ_ISA_ARRAY_M(w) w[255:224]

// array k: K extent of the tile
`define FQ_ISA_ARRAY_K_LSB 256
`define FQ_ISA_ARRAY_K_W 32
`define FQ_ISA_ARRAY_K(w) w[287:256]

// array n: N extent of the tile
`define FQ_ISA_ARRAY_N_LSB 288
`define FQ_ISA_ARRAY_N_W 32
`define FQ_ISA_ARRAY_N(w) w[319:288]

// epilogue src: obuf address of the first int32 accumulator row
`define FQ_ISA_EPILOGUE_SRC_LSB 32
`define FQ_ISA_EPILOGUE_SRC_W 32
`define FQ_ISA_EPILOGUE_SRC(w) w[63:32]

// epilogue src_stride: obuf bytes between accumulator rows
`define FQ_ISA_EPILOGUE_SRC_STRIDE_LSB 96
`define FQ_ISA_EPILOGUE_SRC_STRIDE_W 32
`define FQ_ISA_EPILOGUE_SRC_STRIDE(w) w[127:96]

// epilogue dst: obuf address of the first FP32 output row
`define FQ_ISA_EPILOGUE_DST_LSB 128
`define FQ_ISA_EPILOGUE_DST_W 32
`define FQ_ISA_EPILOGUE_DST(w) w[159:128]

// epilogue dst_stride: obuf bytes between output rows
`define FQ_ISA_EPILOGUE_DST_STRIDE_LSB 192
`define FQ_ISA_EPILOGUE_DST_STRIDE_W 32
`define FQ_ISA_EPILOGUE_DST_STRIDE(w) w[223:192]

// epilogue m: rows (M extent)
`define FQ_ISA_EPILOGUE_M_LSB 224
`define FQ_ISA_EPILOGUE_M_W 32
`define FQ_ISA_EPILOGUE_M(w) w[255:224]

// epilogue n: columns (N extent)
`define FQ_ISA_EPILOGUE_N_LSB 288
`define FQ_ISA_EPILOGUE_N_W 32
`define FQ_ISA_EPILOGUE_N(w) w[319:288]

// epilogue ws: sbuf address of the n FP16 weight scales
`define FQ_ISA_EPILOGUE_WS_LSB 320
`define FQ_ISA_EPILOGUE_WS_W 32
`define FQ_ISA_EPILOGUE_WS(w) w[351:320]

// epilogue as: sbuf address of the m FP32 activation scales
`define FQ_ISA_EPILOGUE_AS_LSB 352
`define FQ_ISA_EPILOGUE_AS_W 32
`define FQ_ISA_EPILOGUE_AS(w) w[383:352]

// dma_out src: obuf address of the first byte
`define FQ_ISA_DMA_OUT_SRC_LSB 32
`define FQ_ISA_DMA_OUT_SRC_W 32
`define FQ_ISA_DMA_OUT_SRC(w) w[63:32]

// dma_out src_stride: obuf bytes between rows
`define FQ_ISA_DMA_OUT_SRC_STRIDE_LSB 96
`define FQ_ISA_DMA_OUT_SRC_STRIDE_W 32
`define FQ_ISA_DMA_OUT_SRC_STRIDE(w) w[127:96]

// dma_out dst: DRAM address of the first byte
`define FQ_ISA_DMA_OUT_DST_LSB 128
`define FQ_ISA_DMA_OUT_DST_W 64
`define FQ_ISA_DMA_OUT_DST(w) w[191:128]

// dma_out dst_stride: DRAM bytes between rows
`define FQ_ISA_DMA_OUT_DST_STRIDE_LSB 192
`define FQ_ISA_DMA_OUT_DST_STRIDE_W 32
`define FQ_ISA_DMA_OUT_DST_STRIDE(w) w[223:192]

// dma_out rows: rows moved
`define FQ_ISA_DMA_OUT_ROWS_LSB 224
`define FQ_ISA_DMA_OUT_ROWS_W 32
`define FQ_ISA_DMA_OUT_ROWS(w) w[255:224]

// dma_out bytes: bytes per row
`define FQ_ISA_DMA_OUT_BYTES_LSB 256
`define FQ_ISA_DMA_OUT_BYTES_W 32
`define FQ_ISA_DMA_OUT_BYTES(w) w[287:256]

`endif
