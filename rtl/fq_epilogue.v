// The dequantisation epilogue (docs/isa.md "dequant"; docs/architecture.md "Epilogue"): up to
// COLS int32 accumulators of one row per cycle become ((float)acc * s_w) * s_a in binary32,
// written back to obuf two cycles after they were read. One dequant at a time: `busy` from the
// start cycle until `finish`, the edge of its last write (issue + m*ceil(n/COLS) + 2).
`default_nettype none

module fq_epilogue #(
    parameter COLS = 4
) (
    input  wire              clk,
    input  wire              rst,
    input  wire              start,
    input  wire [31:0]       src,
    input  wire [31:0]       src_stride,
    input  wire [31:0]       ws,
    input  wire [31:0]       as_addr,
    input  wire [31:0]       dst,
    input  wire [31:0]       dst_stride,
    input  wire [31:0]       m,
    input  wire [31:0]       n,
    output wire              busy,
    output wire [31:0]       ob_raddr,    // COLS int32 from here
    input  wire [32*COLS-1:0] ob_rdata,
    output wire [31:0]       sb_ws_addr,  // COLS FP16 weight scales from here
    input  wire [16*COLS-1:0] sb_ws_data,
    output wire [31:0]       sb_as_addr,  // one FP32 activation scale
    input  wire [31:0]       sb_as_data,
    output wire              ob_we,
    output wire [31:0]       ob_waddr,
    output wire [32*COLS-1:0] ob_wdata,
    output wire [COLS-1:0]   ob_wmask,
    output wire              finish,
    // register writes: issue, chunk read (counters, stage 1), row end, stage 2, the two valid
    // bits, finish (docs/energy.md)
    output wire [6:0]        reg_we
);
  reg        active;
  reg [31:0] r_src, r_src_stride, r_ws, r_as, r_dst, r_dst_stride, r_m, r_n;
  reg [31:0] row, j0;  // the chunk read in this cycle; both 0 between ops (the last chunk resets them)

  // Operands of the chunk read in this cycle: the op's fields in its start cycle, the registers after.
  wire [31:0] c_src    = start ? src : r_src;
  wire [31:0] c_sstr   = start ? src_stride : r_src_stride;
  wire [31:0] c_ws     = start ? ws : r_ws;
  wire [31:0] c_as     = start ? as_addr : r_as;
  wire [31:0] c_dst    = start ? dst : r_dst;
  wire [31:0] c_dstr   = start ? dst_stride : r_dst_stride;
  wire [31:0] c_m      = start ? m : r_m;
  wire [31:0] c_n      = start ? n : r_n;
  wire        reading  = start || active;
  wire [31:0] next_j0  = j0 + COLS;
  wire        row_done = next_j0 >= c_n;
  wire        last     = row_done && (row + 32'd1 == c_m);

  assign ob_raddr   = c_src + row * c_sstr + 32'd4 * j0;
  assign sb_ws_addr = c_ws + 32'd2 * j0;
  assign sb_as_addr = c_as + 32'd4 * row;

  // Stage 1: int32 -> float and FP16 -> float.
  wire [32*COLS-1:0] f_acc, f_sw;
  genvar l;
  generate
    for (l = 0; l < COLS; l = l + 1) begin : g_lane_in
      fq_int_to_fp32 conv (.a(ob_rdata[32*l +: 32]), .f(f_acc[32*l +: 32]));
      fq_fp16_to_fp32 half (.h(sb_ws_data[16*l +: 16]), .f(f_sw[32*l +: 32]));
    end
  endgenerate
  reg               s1_valid, s1_last;
  reg [32*COLS-1:0] s1_acc, s1_sw;
  reg [31:0]        s1_sa, s1_addr;
  reg [COLS-1:0]    s1_mask;
  reg               s2_valid, s2_last;
  reg [32*COLS-1:0] s2_prod;
  reg [31:0]        s2_sa, s2_addr;
  reg [COLS-1:0]    s2_mask;
  // Stage 2: times the weight scale. Stage 3 (the write): times the activation scale.
  wire [32*COLS-1:0] p1, p2;
  generate
    for (l = 0; l < COLS; l = l + 1) begin : g_lane_mul
      fq_fp32_mul mul_w (.a(s1_acc[32*l +: 32]), .b(s1_sw[32*l +: 32]), .p(p1[32*l +: 32]));
      fq_fp32_mul mul_a (.a(s2_prod[32*l +: 32]), .b(s2_sa), .p(p2[32*l +: 32]));
    end
  endgenerate

  reg [COLS-1:0] mask;
  integer b;
  always @(*) begin
    for (b = 0; b < COLS; b = b + 1) mask[b] = (j0 + b) < c_n;
  end

  always @(posedge clk) begin
    if (rst) begin
      active <= 1'b0;
      row <= 32'd0;
      j0 <= 32'd0;
      s1_valid <= 1'b0;
      s2_valid <= 1'b0;
    end else begin
      if (start) begin
        r_src <= src;
        r_src_stride <= src_stride;
        r_ws <= ws;
        r_as <= as_addr;
        r_dst <= dst;
        r_dst_stride <= dst_stride;
        r_m <= m;
        r_n <= n;
      end
      if (reading) begin
        active <= !last;
        j0 <= row_done ? 32'd0 : next_j0;
      end
      if (reading && row_done) row <= last ? 32'd0 : row + 32'd1;  // 0 again for the next op
      if (reading || s1_valid) s1_valid <= reading;
      if (s1_valid || s2_valid) s2_valid <= s1_valid;
    end
    // The pipeline's data registers load only with valid data (they have no reset: nothing reads
    // a stage whose valid bit is 0).
    if (reading) begin
      s1_last <= last;
      s1_acc <= f_acc;
      s1_sw <= f_sw;
      s1_sa <= sb_as_data;
      s1_addr <= c_dst + row * c_dstr + 32'd4 * j0;
      s1_mask <= mask;
    end
    if (s1_valid) begin
      s2_last <= s1_last;
      s2_prod <= p1;
      s2_sa <= s1_sa;
      s2_addr <= s1_addr;
      s2_mask <= s1_mask;
    end
  end

  reg busy_r;
  always @(posedge clk) begin
    if (rst) busy_r <= 1'b0;
    else if (start) busy_r <= 1'b1;
    else if (finish) busy_r <= 1'b0;
  end
  assign busy     = busy_r;
  assign ob_we    = s2_valid;
  assign ob_waddr = s2_addr;
  assign ob_wdata = p2;
  assign ob_wmask = s2_mask;
  assign finish   = s2_valid && s2_last;
  assign reg_we   = {finish, s1_valid || s2_valid, reading || s1_valid, s1_valid, reading && row_done, reading, start};
endmodule

`default_nettype wire
