// The ROWS x COLS weight-stationary systolic array with its input skew and output deskew
// (docs/architecture.md "Array (weight stationary)"). KIND 0: temporal-coding PEs
// (fq_pe_temporal), KIND 1: MAC PEs with WBITS-bit weights (fq_pe_mac), KIND 2: bit-serial PEs
// (fq_pe_bitserial) for FineQ-R and INTb weights up to WBITS bits.
// Timing is given by the array controller: beat_start in the first cycle of a beat, beat_end in
// the last (both in every cycle when W = 1), phase = cycle within the beat. A row presented
// with in_valid at beat_start of beat b enters array row i at beat b + i; its COLS results leave
// the deskew at beat_end of beat b + ROWS + COLS - 2 with out_valid. Bubbles (in_valid = 0)
// cost nothing. Weights are written one array row per cycle into weight set w_tag, which
// w_clear first empties; every row carries the tag of the set it multiplies with.
// The input skew and output deskew registers are written only when a row's data enters them:
// the valid bit and tag of the row that entered s beats ago are the same for every array row, so
// one history of them (ROWS - 1 entries) qualifies every skew stage, and one history of the
// bottom-left PE's valid bit (COLS - 2 entries) qualifies every deskew stage (a stage on the
// diagonal k = column + stage holds the row that PE held k beats ago). A stage whose row is a
// bubble keeps its stale data, which nothing reads. The histories shift on each beat of the
// running grid (`advance`); `rst` clears their valid bits.
`default_nettype none

module fq_array #(
    parameter ROWS  = 4,
    parameter COLS  = 4,
    parameter ACC_W = 32,
    parameter KIND  = 0,
    parameter WBITS = 8,
    parameter RW    = 6,  // bits of a row index (>= clog2(ROWS))
    parameter WSETS = 2,  // weight register sets per PE (pe.weight_sets)
    parameter TW    = (WSETS > 2) ? $clog2(WSETS) : 1,  // bits of a set tag
    // bits of one weight on the write port (bit-serial: FineQ-R's 4 at least)
    parameter QW    = (KIND == 0) ? 4 : (KIND == 1) ? WBITS : (WBITS > 4) ? WBITS : 4
) (
    input  wire                  clk,
    input  wire                  rst,
    input  wire                  beat_start,
    input  wire                  beat_end,
    input  wire                  advance,
    input  wire [2:0]            phase,
    input  wire                  in_valid,
    input  wire [TW-1:0]         in_tag,
    input  wire [8*ROWS-1:0]     in_row,     // element i (bits 8i+7:8i) enters array row i
    input  wire                  w_clear,
    input  wire                  w_en,
    input  wire [TW-1:0]         w_tag,
    input  wire [RW-1:0]         w_row,
    input  wire [COLS-1:0]       w_cols,     // columns written (the others keep the cleared 0)
    input  wire [QW*COLS-1:0]    w_data,     // signed weight per column (QW bits each)
    output wire                  out_valid,
    output wire [TW-1:0]         out_tag,
    output wire [ACC_W*COLS-1:0] out_row,
    output wire [ROWS*COLS-1:0]  pulses,     // PE(i, j) adds in this cycle (bit i*COLS + j)
    output wire [ROWS*COLS-1:0]  pe_valid,   // PE(i, j) holds valid data in this cycle
    // PE(i, j) writes its partial sum / activation and tag / valid bit / a weight set this cycle
    output wire [ROWS*COLS-1:0]  psum_we,
    output wire [ROWS*COLS-1:0]  opnd_we,
    output wire [ROWS*COLS-1:0]  valid_we,
    output wire [ROWS*COLS-1:0]  w_we,
    // Skew stage s (s < ROWS - 1, in rows s+1..ROWS-1: ROWS-1-s registers of 8 bits) and deskew
    // diagonal k (k < COLS - 1: k + 1 registers of ACC_W bits) written this cycle; the top bits
    // are 0. And the valid/tag histories shifting (skew: (1 + TW)(ROWS - 1) bits, deskew: COLS - 2).
    output wire [ROWS-1:0]       skew_we,
    output wire [COLS-1:0]       deskew_we,
    output wire                  skew_shift,
    output wire                  deskew_shift
);
  // Between PEs: activations (with valid and tag) to the right, partial sums down.
  wire [7:0]       act   [0:ROWS-1][0:COLS];
  wire             aval  [0:ROWS-1][0:COLS];
  wire [TW-1:0]    atag  [0:ROWS-1][0:COLS];
  wire [ACC_W-1:0] ps    [0:ROWS][0:COLS-1];
  wire [ACC_W-1:0] bottom_next [0:COLS-1];
  wire             bottom_valid;
  wire [TW-1:0]    bottom_tag;

  localparam HR = (ROWS > 1) ? ROWS - 1 : 1;
  wire [HR-1:0]    hv_now;  // the skew's valid and tag history (below)
  wire [TW*HR-1:0] ht_now;

  genvar i, j, s;
  generate
    // Input skew. hv[s], ht[s]: valid bit and tag of the row that entered s + 1 beats ago;
    // skew_in[s]: the data arriving at skew stage s is a row's (stage 0: the entering row).
    assign skew_shift = beat_start && advance;
    if (ROWS == 1) begin : g_no_skew
      assign skew_we = 1'b0;
      assign hv_now  = 1'b0;
      assign ht_now  = {TW{1'b0}};
      wire unused_skew = &{1'b0, rst, hv_now, ht_now};
    end else begin : g_skew_hist
      reg  [ROWS-2:0]      hv;
      reg  [TW*(ROWS-1)-1:0] ht;
      wire [ROWS-2:0]      skew_in;
      assign skew_in[0] = in_valid;
      if (ROWS > 2) begin : g_in
        assign skew_in[ROWS-2:1] = hv[ROWS-3:0];
      end
      if (ROWS == 2) begin : g_one
        always @(posedge clk) begin
          if (rst) hv <= 1'b0;
          else if (skew_shift) hv <= in_valid;
          if (skew_shift) ht <= in_tag;
        end
      end else begin : g_many
        always @(posedge clk) begin
          if (rst) hv <= {(ROWS-1){1'b0}};
          else if (skew_shift) hv <= {hv[ROWS-3:0], in_valid};
          if (skew_shift) ht <= {ht[TW*(ROWS-2)-1:0], in_tag};
        end
      end
      assign skew_we = {1'b0, skew_in & {(ROWS-1){skew_shift}}};
      assign hv_now  = hv;
      assign ht_now  = ht;
    end

    for (i = 0; i < ROWS; i = i + 1) begin : g_skew
      if (i == 0) begin : g_direct
        assign act[0][0]  = in_row[7:0];
        assign aval[0][0] = in_valid;
        assign atag[0][0] = in_tag;
      end else begin : g_chain
        wire [8*i-1:0] stage;  // stage s (bits 8s+7:8s): the activation of the row s+1 beats old
        for (s = 0; s < i; s = s + 1) begin : g_stage
          reg [7:0] a;
          if (s == 0) begin : g_first
            always @(posedge clk) if (skew_we[0]) a <= in_row[8*i +: 8];
          end else begin : g_next
            always @(posedge clk) if (skew_we[s]) a <= stage[8*(s-1) +: 8];
          end
          assign stage[8*s +: 8] = a;
        end
        assign act[i][0]  = stage[8*(i-1) +: 8];
        assign aval[i][0] = hv_now[i-1];
        assign atag[i][0] = ht_now[TW*(i-1) +: TW];
      end
    end

    for (j = 0; j < COLS; j = j + 1) begin : g_top
      assign ps[0][j] = {ACC_W{1'b0}};
    end

    for (i = 0; i < ROWS; i = i + 1) begin : g_row
      for (j = 0; j < COLS; j = j + 1) begin : g_col
        localparam [RW-1:0] ROW_ID = i;
        wire write = w_en && (w_row == ROW_ID) && w_cols[j];
        wire [TW-1:0] tag_now;
        wire [ACC_W-1:0] psum_next;
        if (KIND == 0) begin : g_temporal
          fq_pe_temporal #(.ACC_W(ACC_W), .WSETS(WSETS)) pe (
              .clk(clk), .beat_start(beat_start), .phase(phase),
              .in_act(act[i][j]), .in_valid(aval[i][j]), .in_tag(atag[i][j]), .in_psum(ps[i][j]),
              .w_clear(w_clear), .w_en(write), .w_tag(w_tag), .w_q(w_data[QW*j +: QW]),
              .act(act[i][j+1]), .valid(aval[i][j+1]), .tag(atag[i][j+1]), .psum(ps[i+1][j]),
              .valid_now(pe_valid[i*COLS+j]), .tag_now(tag_now), .psum_next(psum_next),
              .pulse(pulses[i*COLS+j]), .psum_we(psum_we[i*COLS+j]), .opnd_we(opnd_we[i*COLS+j]),
              .valid_we(valid_we[i*COLS+j]), .w_we(w_we[i*COLS+j]));
        end else if (KIND == 2) begin : g_bitserial
          fq_pe_bitserial #(.ACC_W(ACC_W), .WBITS(WBITS), .QW(QW), .WSETS(WSETS)) pe (
              .clk(clk), .beat_start(beat_start), .phase(phase),
              .in_act(act[i][j]), .in_valid(aval[i][j]), .in_tag(atag[i][j]), .in_psum(ps[i][j]),
              .w_clear(w_clear), .w_en(write), .w_tag(w_tag), .w_q(w_data[QW*j +: QW]),
              .act(act[i][j+1]), .valid(aval[i][j+1]), .tag(atag[i][j+1]), .psum(ps[i+1][j]),
              .valid_now(pe_valid[i*COLS+j]), .tag_now(tag_now), .psum_next(psum_next),
              .pulse(pulses[i*COLS+j]), .psum_we(psum_we[i*COLS+j]), .opnd_we(opnd_we[i*COLS+j]),
              .valid_we(valid_we[i*COLS+j]), .w_we(w_we[i*COLS+j]));
        end else begin : g_mac
          fq_pe_mac #(.ACC_W(ACC_W), .WBITS(WBITS), .WSETS(WSETS)) pe (
              .clk(clk), .beat_start(beat_start), .phase(phase),
              .in_act(act[i][j]), .in_valid(aval[i][j]), .in_tag(atag[i][j]), .in_psum(ps[i][j]),
              .w_clear(w_clear), .w_en(write), .w_tag(w_tag), .w_q(w_data[QW*j +: QW]),
              .act(act[i][j+1]), .valid(aval[i][j+1]), .tag(atag[i][j+1]), .psum(ps[i+1][j]),
              .valid_now(pe_valid[i*COLS+j]), .tag_now(tag_now), .psum_next(psum_next),
              .pulse(pulses[i*COLS+j]), .psum_we(psum_we[i*COLS+j]), .opnd_we(opnd_we[i*COLS+j]),
              .valid_we(valid_we[i*COLS+j]), .w_we(w_we[i*COLS+j]));
        end
        if (i == ROWS - 1) begin : g_bottom
          assign bottom_next[j] = psum_next;
          if (j == COLS - 1) begin : g_corner
            assign bottom_valid = pe_valid[i*COLS+j];
            assign bottom_tag   = tag_now;
          end
        end
      end
    end

    // Output deskew: column j waits COLS - 1 - j beats for the last column of its row. vd[k]:
    // the data arriving at a stage on diagonal k is a row's (k = 0: the bottom-left PE now; hb[k-1]:
    // that PE's valid bit k beats ago).
    assign deskew_shift = beat_end && advance;
    if (COLS == 1) begin : g_no_deskew
      assign deskew_we = 1'b0;
    end else begin : g_deskew_hist
      wire [COLS-2:0] vd;
      assign vd[0] = pe_valid[(ROWS-1)*COLS];
      if (COLS > 2) begin : g_hist
        reg [COLS-3:0] hb;
        if (COLS == 3) begin : g_one
          always @(posedge clk) begin
            if (rst) hb <= 1'b0;
            else if (deskew_shift) hb <= vd[0];
          end
        end else begin : g_many
          always @(posedge clk) begin
            if (rst) hb <= {(COLS-2){1'b0}};
            else if (deskew_shift) hb <= {hb[COLS-4:0], vd[0]};
          end
        end
        assign vd[COLS-2:1] = hb;
      end else begin : g_no_hist
        wire unused_deskew = &{1'b0, rst};
      end
      assign deskew_we = {1'b0, vd & {(COLS-1){deskew_shift}}};
    end
    for (j = 0; j < COLS; j = j + 1) begin : g_deskew
      if (j == COLS - 1) begin : g_direct
        assign out_row[ACC_W*j +: ACC_W] = bottom_next[j];
      end else begin : g_chain
        localparam D = COLS - 1 - j;
        wire [ACC_W*D-1:0] stage;  // stage s (bits ACC_W*s+ACC_W-1:ACC_W*s): the sum s+1 beats old
        for (s = 0; s < D; s = s + 1) begin : g_stage
          reg [ACC_W-1:0] p;
          if (s == 0) begin : g_first
            always @(posedge clk) if (deskew_we[j]) p <= bottom_next[j];
          end else begin : g_next
            always @(posedge clk) if (deskew_we[j+s]) p <= stage[ACC_W*(s-1) +: ACC_W];
          end
          assign stage[ACC_W*s +: ACC_W] = p;
        end
        assign out_row[ACC_W*j +: ACC_W] = stage[ACC_W*D-1 -: ACC_W];
      end
    end
  endgenerate

  assign out_valid = beat_end && bottom_valid;
  assign out_tag   = bottom_tag;
endmodule

`default_nettype wire
