// The accelerator (docs/architecture.md): controller, DMA engines, the four buffers, the array
// unit and the epilogue, with an instruction port and a DRAM port. The buffers are behavioural
// byte arrays with combinational reads and writes at the clock edge (one port per user, no
// banking modelled, as in the SystemC model). The DRAM is outside: the top sends each load's
// request when it issues, takes read data one chunk of up to dram_bytes per cycle in request
// order, and sends store data one chunk per cycle. Weight-stationary dataflow only.
// The beat window, the DRAM's bytes per cycle and latency, and the buffer sizes are inputs taken
// into registers during reset (straps): the parameters WBUF .. SBUF and DB are the capacities they
// may not exceed. So a simulation model Verilated once runs every configuration that differs only
// in those values (sim/rtl/rtl_engine.cpp); a synthesised design ties them to its parameters.
`default_nettype none
`include "fq_isa.vh"  // the instruction word's fields, generated from rtl/fq_isa.def

module fq_top #(
    parameter ROWS   = 4,
    parameter COLS   = 4,
    parameter KIND   = 0,     // 0 temporal PEs (FineQ-R), 1 MAC PEs, 2 bit-serial PEs (FineQ-R, INTb)
    parameter WBITS  = 8,     // MAC weight bits; bit-serial: the widest INTb weights
    parameter WSETS  = 2,     // weight register sets per PE (pe.weight_sets), 1 .. 8
    parameter ACC_W  = 32,    // partial-sum bits of the PEs (pe.acc_bits), 9 .. 32
    parameter WBUF   = 4096,  // buffer capacities, bytes (wbuf_bytes .. sbuf_bytes <= these)
    parameter ABUF   = 4096,
    parameter OBUF   = 16384,
    parameter SBUF   = 1024,
    parameter DB     = 16,    // DRAM data ports, bytes (dram_bytes <= DB)
    parameter IDEPTH = 1024,
    parameter AB     = $clog2(IDEPTH)
) (
    input  wire            clk,
    input  wire            rst,
    input  wire            iw_en,
    input  wire [1:0]      iw_unit,
    input  wire [AB-1:0]   iw_addr,
    input  wire [511:0]    iw_data,
    input  wire            cfg_en,
    input  wire [1:0]      cfg_unit,
    input  wire [31:0]     cfg_count,
    input  wire            start,
    // run-time configuration, taken while rst is high
    input  wire            tile_window,  // FineQ-R on temporal and bit-serial PEs: 0 fixed, 1 tile
    input  wire [31:0]     wbuf_bytes,   // buffer sizes: bytes at or beyond them read 0, writes dropped
    input  wire [31:0]     abuf_bytes,
    input  wire [31:0]     obuf_bytes,
    input  wire [31:0]     sbuf_bytes,
    input  wire [31:0]     dram_bytes,   // DRAM bytes per cycle, 1 .. DB
    input  wire [31:0]     dram_lat,     // DRAM latency (the DRAM model adds it to reads; stores wait for it)
    output wire            finished,
    output wire [127:0]    done_count,
    // DRAM read requests (one per dma.load, at its issue) and data
    output wire            rd_req,
    output wire [63:0]     rd_req_addr,
    output wire [31:0]     rd_req_stride,
    output wire [31:0]     rd_req_rows,
    output wire [31:0]     rd_req_bytes,
    input  wire            rd_valid,
    input  wire [8*DB-1:0] rd_data,
    // DRAM writes
    output wire            wr_valid,
    output wire [63:0]     wr_addr,
    output wire [8*DB-1:0] wr_data,
    output wire [31:0]     wr_len,
    // activity, for counting actions
    output wire [ROWS*COLS-1:0] pulses,
    output wire [ROWS*COLS-1:0] pe_valid,
    output wire [ROWS*COLS-1:0] psum_we,   // per PE: register writes in this cycle (fq_array.v)
    output wire [ROWS*COLS-1:0] opnd_we,
    output wire [ROWS*COLS-1:0] valid_we,
    output wire [ROWS*COLS-1:0] w_we,
    output wire [ROWS-1:0]      skew_we,   // the array's skew and deskew register writes (fq_array.v)
    output wire [COLS-1:0]      deskew_we,
    output wire                 skew_shift,
    output wire                 deskew_shift,
    output wire [11:0]          ctrl_we,   // the array controller's register writes (fq_array_ctrl.v)
    output wire [(1 << $clog2(ROWS + COLS + 4))-1:0] fin_we,
    output wire [WSETS-1:0]     set_rows_we,
    // the other units' register writes: controller (7:0), DMA in (11:8), epilogue (18:12),
    // DMA out (24:19) (their `reg_we` ports)
    output wire [24:0]          unit_we
);
  wire [2047:0] heads;
  wire [3:0]    head_ok, take;
  wire [7:0]    retire_array;
  wire          fin_in, fin_epi, fin_out;
  fq_controller #(.IDEPTH(IDEPTH), .AB(AB)) ctrl (
      .clk(clk), .rst(rst), .iw_en(iw_en), .iw_unit(iw_unit), .iw_addr(iw_addr), .iw_data(iw_data),
      .cfg_en(cfg_en), .cfg_unit(cfg_unit), .cfg_count(cfg_count), .start(start), .finished(finished),
      .heads(heads), .head_ok(head_ok), .take(take), .retire_array(retire_array),
      .retire_other({fin_out, fin_epi, fin_in}), .done_count(done_count), .reg_we(unit_we[7:0]));

  // Each unit's head instruction; its fields are the FQ_ISA_<UNIT>_<FIELD> slices of rtl/fq_isa.vh.
  wire [511:0] h0 = heads[0 +: `FQ_ISA_WORD_BITS], h1 = heads[`FQ_ISA_WORD_BITS +: `FQ_ISA_WORD_BITS],
               h2 = heads[2*`FQ_ISA_WORD_BITS +: `FQ_ISA_WORD_BITS], h3 = heads[3*`FQ_ISA_WORD_BITS +: `FQ_ISA_WORD_BITS];

  // ---- run-time configuration, taken while rst is high (so the logic below reads registers,
  // not the top's inputs, which a Verilated model re-evaluates on every eval) ----
  reg        c_window;
  reg [31:0] c_wbuf, c_abuf, c_obuf, c_sbuf, c_db, c_lat;
  always @(posedge clk) begin
    if (rst) begin
      c_window <= tile_window;
      c_wbuf <= wbuf_bytes;
      c_abuf <= abuf_bytes;
      c_obuf <= obuf_bytes;
      c_sbuf <= sbuf_bytes;
      c_db <= dram_bytes;
      c_lat <= dram_lat;
    end
  end

  // ---- buffers ----
  reg [7:0] wbuf [0:WBUF-1];
  reg [7:0] abuf [0:ABUF-1];
  reg [7:0] obuf [0:OBUF-1];
  reg [7:0] sbuf [0:SBUF-1];

  // ---- DMA in ----
  wire            in_full, in_we;
  wire [1:0]      in_buf;
  wire [31:0]     in_addr, in_len;
  wire [8*DB-1:0] in_data;
  assign take[0]       = head_ok[0] && !in_full;
  assign rd_req        = take[0];
  assign rd_req_addr   = `FQ_ISA_DMA_IN_SRC(h0);
  assign rd_req_stride = `FQ_ISA_DMA_IN_SRC_STRIDE(h0);
  assign rd_req_rows   = `FQ_ISA_DMA_IN_ROWS(h0);
  assign rd_req_bytes  = `FQ_ISA_DMA_IN_BYTES(h0);
  fq_dma_in #(.DB(DB)) dma_in (
      .clk(clk), .rst(rst), .db(c_db), .start(take[0]), .buf_sel(`FQ_ISA_DMA_IN_BUF(h0)), .dst(`FQ_ISA_DMA_IN_DST(h0)),
      .dst_stride(`FQ_ISA_DMA_IN_DST_STRIDE(h0)), .rows(`FQ_ISA_DMA_IN_ROWS(h0)), .bytes(`FQ_ISA_DMA_IN_BYTES(h0)),
      .full(in_full), .rd_valid(rd_valid), .rd_data(rd_data),
      .wr_en(in_we), .wr_buf(in_buf), .wr_addr(in_addr), .wr_data(in_data), .wr_len(in_len), .finish(fin_in),
      .reg_we(unit_we[11:8]));

  // ---- array ----
  wire is_preload = `FQ_ISA_OPCODE(h1) == `FQ_ISA_OP_PRELOAD;
  wire is_matmul  = `FQ_ISA_OPCODE(h1) == `FQ_ISA_OP_MATMUL;
  wire can_preload, can_matmul;
  assign take[1] = head_ok[1] && ((is_preload && can_preload) || (is_matmul && can_matmul));
  wire [32*COLS-1:0] wb_raddr;
  reg  [16*COLS-1:0] wb_rdata;
  wire [31:0]        ab_raddr;
  reg  [8*ROWS-1:0]  ab_rdata;
  wire [31:0]        aob_addr;
  reg  [32*COLS-1:0] aob_rdata;
  wire               aob_we;
  wire [32*COLS-1:0] aob_wdata;
  wire [COLS-1:0]    aob_wmask;
  fq_array_ctrl #(.ROWS(ROWS), .COLS(COLS), .KIND(KIND), .WBITS(WBITS), .WSETS(WSETS), .ACC_W(ACC_W)) array (
      .clk(clk), .rst(rst), .tile_window(c_window), .issue_preload(take[1] && is_preload), .issue_matmul(take[1] && is_matmul),
      .src(`FQ_ISA_ARRAY_SRC(h1)), .src_stride(`FQ_ISA_ARRAY_SRC_STRIDE(h1)), .dst(`FQ_ISA_ARRAY_DST(h1)),
      .dst_stride(`FQ_ISA_ARRAY_DST_STRIDE(h1)), .m(`FQ_ISA_ARRAY_M(h1)), .k(`FQ_ISA_ARRAY_K(h1)), .n(`FQ_ISA_ARRAY_N(h1)),
      .acc(`FQ_ISA_ARRAY_ACC(h1)), .fmt(`FQ_ISA_ARRAY_FMT(h1)),
      .can_preload(can_preload), .can_matmul(can_matmul),
      .wb_raddr(wb_raddr), .wb_rdata(wb_rdata), .ab_raddr(ab_raddr), .ab_rdata(ab_rdata),
      .ob_addr(aob_addr), .ob_rdata(aob_rdata), .ob_we(aob_we), .ob_wdata(aob_wdata), .ob_wmask(aob_wmask),
      .retire_n(retire_array), .pulses(pulses), .pe_valid(pe_valid),
      .psum_we(psum_we), .opnd_we(opnd_we), .valid_we(valid_we), .w_we(w_we),
      .skew_we(skew_we), .deskew_we(deskew_we), .skew_shift(skew_shift), .deskew_shift(deskew_shift),
      .ctrl_we(ctrl_we), .fin_we(fin_we), .set_rows_we(set_rows_we));

  // ---- epilogue ----
  wire               epi_busy;
  wire [31:0]        eob_raddr, esb_ws, esb_as, eob_waddr;
  reg  [32*COLS-1:0] eob_rdata;
  reg  [16*COLS-1:0] esb_ws_data;
  reg  [31:0]        esb_as_data;
  wire               eob_we;
  wire [32*COLS-1:0] eob_wdata;
  wire [COLS-1:0]    eob_wmask;
  assign take[2] = head_ok[2] && !epi_busy;
  fq_epilogue #(.COLS(COLS)) epilogue (
      .clk(clk), .rst(rst), .start(take[2]), .src(`FQ_ISA_EPILOGUE_SRC(h2)), .src_stride(`FQ_ISA_EPILOGUE_SRC_STRIDE(h2)),
      .ws(`FQ_ISA_EPILOGUE_WS(h2)), .as_addr(`FQ_ISA_EPILOGUE_AS(h2)), .dst(`FQ_ISA_EPILOGUE_DST(h2)),
      .dst_stride(`FQ_ISA_EPILOGUE_DST_STRIDE(h2)), .m(`FQ_ISA_EPILOGUE_M(h2)), .n(`FQ_ISA_EPILOGUE_N(h2)),
      .busy(epi_busy), .ob_raddr(eob_raddr), .ob_rdata(eob_rdata), .sb_ws_addr(esb_ws), .sb_ws_data(esb_ws_data),
      .sb_as_addr(esb_as), .sb_as_data(esb_as_data), .ob_we(eob_we), .ob_waddr(eob_waddr), .ob_wdata(eob_wdata),
      .ob_wmask(eob_wmask), .finish(fin_epi), .reg_we(unit_we[18:12]));

  // ---- DMA out ----
  wire            out_full;
  wire [31:0]     oob_raddr;
  reg  [8*DB-1:0] oob_rdata;
  assign take[3] = head_ok[3] && !out_full;
  fq_dma_out #(.DB(DB)) dma_out (
      .clk(clk), .rst(rst), .db(c_db), .lat(c_lat), .start(take[3]), .src(`FQ_ISA_DMA_OUT_SRC(h3)), .src_stride(`FQ_ISA_DMA_OUT_SRC_STRIDE(h3)),
      .dst(`FQ_ISA_DMA_OUT_DST(h3)), .dst_stride(`FQ_ISA_DMA_OUT_DST_STRIDE(h3)), .rows(`FQ_ISA_DMA_OUT_ROWS(h3)),
      .bytes(`FQ_ISA_DMA_OUT_BYTES(h3)), .full(out_full),
      .ob_raddr(oob_raddr), .ob_rdata(oob_rdata), .wr_valid(wr_valid), .wr_addr(wr_addr), .wr_data(wr_data),
      .wr_len(wr_len), .finish(fin_out), .reg_we(unit_we[24:19]));

  // ---- buffer reads (combinational; bytes outside a buffer read as 0) ----
  function [7:0] rd_w(input [31:0] a);
    rd_w = (a < c_wbuf) ? wbuf[a] : 8'd0;
  endfunction
  function [7:0] rd_a(input [31:0] a);
    rd_a = (a < c_abuf) ? abuf[a] : 8'd0;
  endfunction
  function [7:0] rd_o(input [31:0] a);
    rd_o = (a < c_obuf) ? obuf[a] : 8'd0;
  endfunction
  function [7:0] rd_s(input [31:0] a);
    rd_s = (a < c_sbuf) ? sbuf[a] : 8'd0;
  endfunction
  integer b, c;
  always @(*) begin
    for (c = 0; c < COLS; c = c + 1) begin
      wb_rdata[16*c +: 8] = rd_w(wb_raddr[32*c +: 32]);
      wb_rdata[16*c+8 +: 8] = rd_w(wb_raddr[32*c +: 32] + 32'd1);
    end
    for (b = 0; b < ROWS; b = b + 1) ab_rdata[8*b +: 8] = rd_a(ab_raddr + b);
    for (b = 0; b < 4 * COLS; b = b + 1) begin
      aob_rdata[8*b +: 8] = rd_o(aob_addr + b);
      eob_rdata[8*b +: 8] = rd_o(eob_raddr + b);
    end
    for (b = 0; b < 2 * COLS; b = b + 1) esb_ws_data[8*b +: 8] = rd_s(esb_ws + b);
    for (b = 0; b < 4; b = b + 1) esb_as_data[8*b +: 8] = rd_s(esb_as + b);
    for (b = 0; b < DB; b = b + 1) oob_rdata[8*b +: 8] = rd_o(oob_raddr + b);
  end

  // ---- buffer writes ----
  always @(posedge clk) begin
    if (in_we) begin
      for (b = 0; b < DB; b = b + 1) begin
        if (b < in_len) begin
          case (in_buf)
            2'd0: if (in_addr + b < c_wbuf) wbuf[in_addr + b] <= in_data[8*b +: 8];
            2'd1: if (in_addr + b < c_abuf) abuf[in_addr + b] <= in_data[8*b +: 8];
            default: if (in_addr + b < c_sbuf) sbuf[in_addr + b] <= in_data[8*b +: 8];
          endcase
        end
      end
    end
    if (aob_we) begin
      for (b = 0; b < 4 * COLS; b = b + 1) begin
        if (aob_wmask[b / 4] && aob_addr + b < c_obuf) obuf[aob_addr + b] <= aob_wdata[8*b +: 8];
      end
    end
    if (eob_we) begin
      for (b = 0; b < 4 * COLS; b = b + 1) begin
        if (eob_wmask[b / 4] && eob_waddr + b < c_obuf) obuf[eob_waddr + b] <= eob_wdata[8*b +: 8];
      end
    end
  end

`ifndef SYNTHESIS
  always @(posedge clk) begin
    if (rst && (wbuf_bytes > WBUF || abuf_bytes > ABUF || obuf_bytes > OBUF || sbuf_bytes > SBUF ||
                dram_bytes == 32'd0 || dram_bytes > DB)) begin
      $display("fq_top: a buffer size or the DRAM bytes per cycle exceeds the model's capacity");
      $stop;
    end
    if (!rst && head_ok[1] && !is_preload && !is_matmul) begin
      $display("fq_top: the RTL runs weight-stationary programs only (op %0d)", `FQ_ISA_OPCODE(h1));
      $stop;
    end
  end
`endif
endmodule

`default_nettype wire
